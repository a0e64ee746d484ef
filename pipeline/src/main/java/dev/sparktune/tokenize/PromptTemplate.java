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
   * A rendered example: the prompt (masked from the loss by default) and the response;
   * {@code literals}: where the template's own text lies in the prompt, as start, end pairs (the same
   * text in every example, so the tokenizer can encode it once), empty when not known.
   */
  public record Rendered(String prompt, String response, int[] literals) {
    public Rendered(String prompt, String response) {
      this(prompt, response, new int[0]);
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
      String after = fill(custom.substring(at + "{output}".length()), instruction, in);
      return filled(custom.substring(0, at), instruction, in, after.isEmpty() ? out : out + after);
    }
    String chatml = "<|im_start|>user\n";
    String llama3 = "<|start_header_id|>user<|end_header_id|>\n\n";
    return switch (builtIn) {
      case ALPACA -> filled(hasInput ? ALPACA_INPUT : ALPACA_NO_INPUT, instruction, in, out);
      case CHATML -> new Rendered(chatml + instruction + (hasInput ? "\n\n" + in : "")
          + "<|im_end|>\n<|im_start|>assistant\n", out + "<|im_end|>", new int[] {0, chatml.length()});
      case LLAMA3 -> new Rendered(llama3 + instruction
          + (hasInput ? "\n\n" + in : "") + "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
          out + "<|eot_id|>", new int[] {0, llama3.length()});
      case MODEL -> throw new IllegalStateException("template 'model' renders records as conversations");
    };
  }

  /**
   * The prompt template filled as {@link #fill} does, with the spans of the template's own text in the
   * result (touching spans joined); no spans where filling placeholder by placeholder would not give
   * fill's text (an instruction that itself contains {@code {input}}).
   */
  private static Rendered filled(String template, String instruction, String input, String response) {
    String text = fill(template, instruction, input);
    StringBuilder b = new StringBuilder(text.length());
    int[] spans = new int[8];
    int n = 0;
    int i = 0;
    while (true) {
      int a = template.indexOf("{instruction}", i);
      int c = template.indexOf("{input}", i);
      int next = a < 0 ? c : c < 0 ? a : Math.min(a, c);
      int end = next < 0 ? template.length() : next;
      if (end > i && n > 0 && spans[n - 1] == b.length()) {
        b.append(template, i, end); // an empty placeholder between: the previous span goes on
        spans[n - 1] = b.length();
      } else if (end > i) {
        spans = n + 2 > spans.length ? java.util.Arrays.copyOf(spans, spans.length * 2) : spans;
        spans[n++] = b.length();
        b.append(template, i, end);
        spans[n++] = b.length();
      }
      if (next < 0) {
        break;
      }
      boolean isInstruction = next == a;
      b.append(isInstruction ? (instruction == null ? "" : instruction) : input);
      i = next + (isInstruction ? "{instruction}" : "{input}").length();
    }
    return new Rendered(text, response, b.toString().equals(text) ? java.util.Arrays.copyOf(spans, n) : new int[0]);
  }

  private static String fill(String template, String instruction, String input) {
    return template.replace("{instruction}", instruction == null ? "" : instruction).replace("{input}", input);
  }
}
