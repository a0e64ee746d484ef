package dev.sparktune.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The prompt templates {@code tokenize.template} names: the built-in ones, or {@code model} for the
 * base model's own chat template; any other value is a custom template: a string with
 * {@code {instruction}}, {@code {input}} and exactly one {@code {output}}.
 */
public enum TemplateName {
  ALPACA, CHATML, LLAMA3, MODEL;

  /** The name as the config writes it ({@code alpaca}). */
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * The built-in template {@code spec} names, or empty when {@code spec} is a custom template;
   * fails when it is neither, naming the built-in ones.
   */
  public static Optional<TemplateName> of(String spec) {
    Optional<TemplateName> builtIn = Arrays.stream(values()).filter(t -> t.key().equals(spec)).findFirst();
    int at = spec.indexOf("{output}");
    if (builtIn.isEmpty() && (at < 0 || spec.indexOf("{output}", at + 1) >= 0)) {
      throw new IllegalArgumentException("'" + spec + "' is neither a built-in template ("
          + Arrays.stream(values()).filter(t -> t != MODEL).map(TemplateName::key).collect(Collectors.joining(", "))
          + "), model (the base model's own chat template) nor a custom one with exactly one {output} placeholder");
    }
    return builtIn;
  }
}
