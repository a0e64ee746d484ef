# Trains the byte-level BPE fixtures of ByteLevelBpeTest (vocab 4,000) with Hugging Face tokenizers
# 0.23.2 (reproduces the files byte for byte):
#   python make.py TRAIN.txt tokenizer.json            GPT-2's pre-tokenizer (ByteLevel with its regex)
#   python make.py TRAIN.txt llama3.json --llama3      Llama 3's (Split with tiktoken's cl100k pattern,
#                                                      ByteLevel without its regex), ignore_merges,
#                                                      BOS added by a Sequence post-processor
# TRAIN.txt was 20,000 lines (instruction, input and output of the first 20,000 records of
# ../shared/peers make_corpus.py's alpaca.json, one record a line).
import sys
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, decoders, trainers, processors

LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
llama3 = "--llama3" in sys.argv
texts = list(open(sys.argv[1], encoding="utf-8"))
texts += ["Zürich café naïve résumé Ελληνικά русский 中文字符 한국어 العربية हिन्दी ① ² Ⅻ ٣٤ 12,345.67 can't we'll I'd"] * 50
# Whitespace runs with line breaks, so that merges join them and the pre-tokenizers' whitespace rules show in the ids.
texts += ["def f(x):\n    return x  \n\n\tif y:\r\n\t\tpass\n  \n \n\n   end.\r\n\r\n  x\t \ty"] * 200
bos = "<|begin_of_text|>" if llama3 else "<s>"
tok = Tokenizer(models.BPE(ignore_merges=llama3))
if llama3:
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
else:
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
specials = ["<unk>", bos, "</s>", "<|im_end|>"]
trainer = trainers.BpeTrainer(vocab_size=4000, special_tokens=specials,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train_from_iterator(texts, trainer)
template = processors.TemplateProcessing(single=bos + " $A", pair=bos + " $A " + bos + " $B", special_tokens=[(bos, 1)])
if llama3:
    tok.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False), template])
else:
    tok.post_processor = template
tok.save(sys.argv[2])
print(len(texts), tok.get_vocab_size())
