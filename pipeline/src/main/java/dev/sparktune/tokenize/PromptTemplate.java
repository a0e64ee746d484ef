package dev.sparktune.tokenize;

import java.io.Serializable;

/**
 * How an instruction record becomes a prompt and a response: {@code alpaca} (worded exactly as
 * tloen/alpaca-lora's templates/alpaca.json, with and without input), {@code chatml}, {@code llama3},
 * or a custom string with {@code {instruction}}, {@code {input}} and {@code {output}} placeholders,
 * where everything before {@code {output}} is the prompt. The EOS token is never part of the
 * template: it is appended as an id.
 */
public final class PromptTemplate implements Serializable {
  private static final long serialVersionUID = 1L;

  static final String ALPACA_INPUT = "Below is an instruction that describes a task, paired with an input that "
      + "provides further context. Write a response that appropriately completes the request.\n\n"
      + "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n";
  static final String ALPACA_NO_INPUT = "Below is an instruction that describes a task. Write a response that "
      + "appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n";

  /** A rendered example: the prompt (masked from the loss by default) and the response. */
  public record Rendered(String prompt, String response) {}

  private final String name;
  private final String custom;

  private PromptTemplate(String name, String custom) {
    this.name = name;
    this.custom = custom;
  }

  /** {@code alpaca}, {@code chatml}, {@code llama3}, or a custom template containing {@code {output}}. */
  public static PromptTemplate of(String spec) {
    return switch (spec) {
      case "alpaca", "chatml", "llama3" -> new PromptTemplate(spec, null);
      default -> {
        int at = spec.indexOf("{output}");
        if (at < 0 || spec.indexOf("{output}", at + 1) >= 0) {
          throw new IllegalArgumentException("a custom template needs exactly one {output} placeholder: '" + spec + "'");
        }
        yield new PromptTemplate("custom", spec);
      }
    };
  }

  public String name() {
    return name;
  }

  /** Renders an instruction record; {@code input} may be null or empty. */
  public Rendered render(String instruction, String input, String output) {
    String in = input == null ? "" : input;
    String out = output == null ? "" : output;
    boolean hasInput = !in.isEmpty();
    return switch (name) {
      case "alpaca" -> new Rendered(fill(hasInput ? ALPACA_INPUT : ALPACA_NO_INPUT, instruction, in), out);
      case "chatml" -> new Rendered("<|im_start|>user\n" + instruction + (hasInput ? "\n\n" + in : "")
          + "<|im_end|>\n<|im_start|>assistant\n", out + "<|im_end|>");
      case "llama3" -> new Rendered("<|start_header_id|>user<|end_header_id|>\n\n" + instruction
          + (hasInput ? "\n\n" + in : "") + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
          out + "<|eot_id|>");
      default -> {
        int at = custom.indexOf("{output}");
        yield new Rendered(fill(custom.substring(0, at), instruction, in),
            fill(custom.substring(at + "{output}".length()), instruction, in).isEmpty() ? out
                : out + fill(custom.substring(at + "{output}".length()), instruction, in));
      }
    };
  }

  private static String fill(String template, String instruction, String input) {
    return template.replace("{instruction}", instruction == null ? "" : instruction).replace("{input}", input);
  }
}
