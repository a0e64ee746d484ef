package dev.sparktune.tokenize;

import dev.sparktune.config.TemplateName;
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

  /**
   * A rendered example: the prompt (masked from the loss by default) and the response; {@code lead} is
   * how many of the prompt's first characters are the template's own text, the same in every example
   * (0 when none), so the tokenizer can encode them once.
   */
  public record Rendered(String prompt, String response, int lead) {
    public Rendered(String prompt, String response) {
      this(prompt, response, 0);
    }
  }

  private final TemplateName builtIn; // null: custom
  private final String custom;

  private PromptTemplate(TemplateName builtIn, String custom) {
    this.builtIn = builtIn;
    this.custom = custom;
  }

  /** {@code alpaca}, {@code chatml}, {@code llama3}, or a custom template with one {@code {output}}. */
  public static PromptTemplate of(String spec) {
    return TemplateName.of(spec).map(t -> new PromptTemplate(t, null))
        .orElseGet(() -> new PromptTemplate(null, spec));
  }

  /** The built-in template's name, or {@code custom}. */
  public String name() {
    return builtIn == null ? "custom" : builtIn.key();
  }

  /** Renders an instruction record; {@code input} may be null or empty. */
  public Rendered render(String instruction, String input, String output) {
    String in = input == null ? "" : input;
    String out = output == null ? "" : output;
    boolean hasInput = !in.isEmpty();
    if (builtIn == null) {
      int at = custom.indexOf("{output}");
      String prompt = custom.substring(0, at);
      return new Rendered(fill(prompt, instruction, in),
          fill(custom.substring(at + "{output}".length()), instruction, in).isEmpty() ? out
              : out + fill(custom.substring(at + "{output}".length()), instruction, in), lead(prompt));
    }
    String chatml = "<|im_start|>user\n";
    String llama3 = "<|start_header_id|>user<|end_header_id|>\n\n";
    return switch (builtIn) {
      case ALPACA -> {
        String template = hasInput ? ALPACA_INPUT : ALPACA_NO_INPUT;
        yield new Rendered(fill(template, instruction, in), out, lead(template));
      }
      case CHATML -> new Rendered(chatml + instruction + (hasInput ? "\n\n" + in : "")
          + "<|im_end|>\n<|im_start|>assistant\n", out + "<|im_end|>", chatml.length());
      case LLAMA3 -> new Rendered(llama3 + instruction
          + (hasInput ? "\n\n" + in : "") + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
          out + "<|eot_id|>", llama3.length());
      case MODEL -> throw new IllegalStateException("template 'model' renders records as conversations");
    };
  }

  /** The template text before its first placeholder: filling leaves it as it is. */
  private static int lead(String promptTemplate) {
    int instruction = promptTemplate.indexOf("{instruction}");
    int input = promptTemplate.indexOf("{input}");
    return instruction < 0 ? Math.max(input, 0) : input < 0 ? instruction : Math.min(instruction, input);
  }

  private static String fill(String template, String instruction, String input) {
    return template.replace("{instruction}", instruction == null ? "" : instruction).replace("{input}", input);
  }
}
