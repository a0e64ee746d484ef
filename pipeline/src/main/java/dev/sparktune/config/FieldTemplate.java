package dev.sparktune.config;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * A source's mapping for one canonical field: either a bare column name, or a template such as
 * {@code "{Name} by {Composer}"} ({@code {{} and {@code }}} for literal braces).
 */
public final class FieldTemplate implements Serializable {
  private static final long serialVersionUID = 1L;

  /** A literal piece (column == null) or a placeholder. */
  private record Part(String literal, String column) implements Serializable {}

  private final List<Part> parts;
  private final Set<String> columns;

  private FieldTemplate(List<Part> parts) {
    this.parts = List.copyOf(parts);
    Set<String> cols = new LinkedHashSet<>();
    for (Part p : parts) {
      if (p.column() != null) {
        cols.add(p.column());
      }
    }
    this.columns = java.util.Collections.unmodifiableSet(cols);
  }

  /** Parses a mapping value; throws {@link IllegalArgumentException} on an unclosed or empty placeholder. */
  public static FieldTemplate parse(String spec) {
    if (spec.indexOf('{') < 0 && spec.indexOf('}') < 0) {
      return new FieldTemplate(List.of(new Part(null, spec)));
    }
    List<Part> parts = new ArrayList<>();
    StringBuilder literal = new StringBuilder();
    int i = 0;
    while (i < spec.length()) {
      char c = spec.charAt(i);
      if (c == '{' && i + 1 < spec.length() && spec.charAt(i + 1) == '{') {
        literal.append('{');
        i += 2;
      } else if (c == '}' && i + 1 < spec.length() && spec.charAt(i + 1) == '}') {
        literal.append('}');
        i += 2;
      } else if (c == '{') {
        int close = spec.indexOf('}', i);
        if (close < 0) {
          throw new IllegalArgumentException("template '" + spec + "' has an unclosed '{'");
        }
        String column = spec.substring(i + 1, close);
        if (column.isBlank()) {
          throw new IllegalArgumentException("template '" + spec + "' has an empty placeholder");
        }
        if (literal.length() > 0) {
          parts.add(new Part(literal.toString(), null));
          literal.setLength(0);
        }
        parts.add(new Part(null, column));
        i = close + 1;
      } else if (c == '}') {
        throw new IllegalArgumentException("template '" + spec + "' has an unmatched '}' (write '}}' for a literal one)");
      } else {
        literal.append(c);
        i++;
      }
    }
    if (literal.length() > 0) {
      parts.add(new Part(literal.toString(), null));
    }
    return new FieldTemplate(parts);
  }

  /** The columns this mapping reads. */
  public Set<String> columns() {
    return columns;
  }

  /**
   * Renders the field from a record's columns; null when any referenced column is null or empty, so
   * {@code "{Name} by {Composer}"} never yields "Song by ".
   */
  public String render(Function<String, String> column) {
    if (parts.size() == 1 && parts.get(0).column() != null) {
      return column.apply(parts.get(0).column());
    }
    StringBuilder sb = new StringBuilder();
    for (Part p : parts) {
      if (p.column() == null) {
        sb.append(p.literal());
      } else {
        String v = column.apply(p.column());
        if (v == null || v.isEmpty()) {
          return null;
        }
        sb.append(v);
      }
    }
    return sb.toString();
  }
}
