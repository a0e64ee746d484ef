class Ops(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def forward(self: __torch__.Ops) -> int:
    return 0
  def attention_causal(self: __torch__.Ops,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    scale: float,
    gqa: bool) -> Tensor:
    return torch.scaled_dot_product_attention(q, k, v, None, 0., True, scale=scale, enable_gqa=gqa)
  def attention_masked(self: __torch__.Ops,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor,
    scale: float,
    gqa: bool) -> Tensor:
    return torch.scaled_dot_product_attention(q, k, v, mask, 0., False, scale=scale, enable_gqa=gqa)
  def cast(self: __torch__.Ops,
    x: Tensor,
    dtype: int) -> Tensor:
    return torch.to(x, dtype)
  def flat_grads(self: __torch__.Ops,
    params: List[Tensor]) -> Tensor:
    out = annotate(List[Tensor], [])
    for i in range(torch.len(params)):
      g = ops.prim.grad(params[i])
      _0 = torch.append(out, torch.reshape(g, [-1]))
    flat = torch.cat(out)
    for i in range(torch.len(params)):
      _1 = torch.zero_(ops.prim.grad(params[i]))
    return flat
  def unflatten(self: __torch__.Ops,
    flat: Tensor,
    params: List[Tensor]) -> int:
    offset = 0
    for i in range(torch.len(params)):
      p = params[i]
      n = torch.numel(p)
      _0 = torch.copy_(p, torch.view_as(torch.slice(flat, 0, offset, torch.add(offset, n)), p))
      offset = torch.add(offset, n)
    return offset
  def adamw(self: __torch__.Ops,
    p: Tensor,
    g: Tensor,
    m: Tensor,
    v: Tensor,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: int) -> int:
    bias1 = torch.sub(1., torch.pow(beta1, step))
    bias2 = torch.sub(1., torch.pow(beta2, step))
    _0 = torch.add_(torch.mul_(m, beta1), g, alpha=torch.sub(1., beta1))
    _1 = torch.addcmul_(torch.mul_(v, beta2), g, g, value=torch.sub(1., beta2))
    denom = torch.add_(torch.sqrt_(torch.div(v, bias2)), eps)
    _2 = torch.mul_(p, torch.sub(1., torch.mul(lr, weight_decay)))
    _3 = torch.addcdiv_(p, m, denom, value=torch.div(torch.neg(lr), bias1))
    return step
