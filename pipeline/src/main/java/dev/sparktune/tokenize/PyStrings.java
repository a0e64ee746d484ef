package dev.sparktune.tokenize;

import java.beans.FeatureDescriptor;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The Python behaviour chat templates rely on and Jinjava does not have: {@code str} methods
 * ({@code startswith}, {@code strip('\n')}, {@code split}, ...), {@code json.dumps} output and
 * {@code strftime}.
 */
final class PyStrings {
  private PyStrings() {}

  /** Resolves Python {@code str} method calls on Java strings, ahead of Jinjava's own resolver. */
  static final class Resolver extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
      if (!(base instanceof String s) || method == null) {
        return null;
      }
      Object[] p = params == null ? new Object[0] : params;
      Object r = call(s, method.toString(), p);
      if (r != null) {
        context.setPropertyResolved(true);
      }
      return r;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
      return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
      return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
      // read only
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
      return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
      return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
      return null;
    }
  }

  /** {@code s.method(p...)} as Python does it, or null when the method is not one of Python's here. */
  static Object call(String s, String method, Object[] p) {
    String a = p.length > 0 && p[0] != null ? String.valueOf(p[0]) : null;
    return switch (method) {
      case "startswith" -> s.startsWith(a);
      case "endswith" -> s.endsWith(a);
      case "strip" -> a == null ? pyStrip(s, true, true) : stripChars(s, a, true, true);
      case "lstrip" -> a == null ? pyStrip(s, true, false) : stripChars(s, a, true, false);
      case "rstrip" -> a == null ? pyStrip(s, false, true) : stripChars(s, a, false, true);
      case "split" -> a == null ? new ArrayList<>(Arrays.asList(s.strip().isEmpty() ? new String[0]
          : s.strip().split("\\s+"))) : new ArrayList<>(Arrays.asList(s.split(java.util.regex.Pattern.quote(a), -1)));
      case "upper" -> s.toUpperCase(Locale.ROOT);
      case "lower" -> s.toLowerCase(Locale.ROOT);
      case "title" -> title(s);
      case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
      case "find" -> (long) s.indexOf(a);
      case "count" -> (long) (a.isEmpty() ? s.length() + 1 : (s.length() - s.replace(a, "").length()) / a.length());
      default -> null;
    };
  }

  private static String pyStrip(String s, boolean left, boolean right) {
    int a = 0;
    int b = s.length();
    while (left && a < b && Character.isWhitespace(s.charAt(a))) {
      a++;
    }
    while (right && b > a && Character.isWhitespace(s.charAt(b - 1))) {
      b--;
    }
    return s.substring(a, b);
  }

  private static String stripChars(String s, String chars, boolean left, boolean right) {
    int a = 0;
    int b = s.length();
    while (left && a < b && chars.indexOf(s.charAt(a)) >= 0) {
      a++;
    }
    while (right && b > a && chars.indexOf(s.charAt(b - 1)) >= 0) {
      b--;
    }
    return s.substring(a, b);
  }

  private static String title(String s) {
    StringBuilder out = new StringBuilder(s.length());
    boolean start = true;
    for (char c : s.toCharArray()) {
      out.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
      start = !Character.isLetter(c);
    }
    return out.toString();
  }

  /** {@code json.dumps(value, ensure_ascii=False, indent=indent)}: ", " and ": " separators, keys in order. */
  static String json(Object value, Integer indent) {
    StringBuilder out = new StringBuilder();
    json(value, indent, 0, out);
    return out.toString();
  }

  private static void json(Object v, Integer indent, int depth, StringBuilder out) {
    if (v == null) {
      out.append("null");
    } else if (v instanceof Boolean b) {
      out.append(b ? "true" : "false");
    } else if (v instanceof Number n) {
      out.append(n instanceof Double || n instanceof Float ? pyFloat(n.doubleValue()) : n.toString());
    } else if (v instanceof Map<?, ?> m) {
      container(new ArrayList<>(m.entrySet()), '{', '}', indent, depth, out);
    } else if (v instanceof Iterable<?> it) {
      List<Object> items = new ArrayList<>();
      it.forEach(items::add);
      container(items, '[', ']', indent, depth, out);
    } else if (v instanceof Object[] arr) {
      container(Arrays.asList(arr), '[', ']', indent, depth, out);
    } else {
      string(v.toString(), out);
    }
  }

  private static void container(List<?> items, char open, char close, Integer indent, int depth, StringBuilder out) {
    out.append(open);
    if (items.isEmpty()) {
      out.append(close);
      return;
    }
    for (int i = 0; i < items.size(); i++) {
      out.append(i == 0 ? "" : indent == null ? ", " : ",");
      if (indent != null) {
        out.append('\n').append(" ".repeat(indent * (depth + 1)));
      }
      Object item = items.get(i);
      if (item instanceof Map.Entry<?, ?> e) {
        string(String.valueOf(e.getKey()), out);
        out.append(": ");
        json(e.getValue(), indent, depth + 1, out);
      } else {
        json(item, indent, depth + 1, out);
      }
    }
    if (indent != null) {
      out.append('\n').append(" ".repeat(indent * depth));
    }
    out.append(close);
  }

  private static String pyFloat(double d) {
    if (d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e16) {
      return (long) d + ".0";
    }
    return Double.toString(d);
  }

  private static void string(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /** The common directives of Python's strftime (%d %m %Y %y %H %M %S %b %B %a %A %p %I %j %%). */
  static String strftime(ZonedDateTime t, String format) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 == format.length()) {
        out.append(c);
        continue;
      }
      char d = format.charAt(++i);
      out.append(switch (d) {
        case 'd' -> String.format("%02d", t.getDayOfMonth());
        case 'm' -> String.format("%02d", t.getMonthValue());
        case 'Y' -> Integer.toString(t.getYear());
        case 'y' -> String.format("%02d", t.getYear() % 100);
        case 'H' -> String.format("%02d", t.getHour());
        case 'I' -> String.format("%02d", (t.getHour() + 11) % 12 + 1);
        case 'M' -> String.format("%02d", t.getMinute());
        case 'S' -> String.format("%02d", t.getSecond());
        case 'p' -> t.getHour() < 12 ? "AM" : "PM";
        case 'j' -> String.format("%03d", t.getDayOfYear());
        case 'b' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
        case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
        case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
        case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
        case '%' -> "%";
        default -> "%" + d;
      });
    }
    return out.toString();
  }
}
