package dev.sparktune.ingest.sql;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import net.sf.jsqlparser.expression.BooleanValue;
import net.sf.jsqlparser.expression.CastExpression;
import net.sf.jsqlparser.expression.DateTimeLiteralExpression;
import net.sf.jsqlparser.expression.DoubleValue;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.expression.HexValue;
import net.sf.jsqlparser.expression.LongValue;
import net.sf.jsqlparser.expression.NullValue;
import net.sf.jsqlparser.expression.SignedExpression;
import net.sf.jsqlparser.expression.StringValue;

/**
 * Turns the literal expressions of an INSERT's VALUES into text, undoing each dialect's quoting:
 * doubled quotes, MySQL and PostgreSQL {@code E''} backslash escapes, Oracle {@code q'[...]'},
 * SQL Server {@code N''}, hex literals, casts and the few functions dumps wrap values in
 * (SQLite's {@code replace(..., char(10))}, Oracle's {@code to_date}). Anything else is kept as
 * its SQL text, so nothing is lost.
 */
final class SqlValues {
  private SqlValues() {}

  static String text(Expression e, SqlDumpReader.Dialect dialect) {
    if (e == null || e instanceof NullValue) {
      return null;
    }
    if (e instanceof StringValue s) {
      return string(s, dialect);
    }
    if (e instanceof LongValue l) {
      return l.getStringValue();
    }
    if (e instanceof DoubleValue d) {
      return d.toString();
    }
    if (e instanceof SignedExpression s) {
      String inner = text(s.getExpression(), dialect);
      return inner == null ? null : (s.getSign() == '-' ? "-" : "") + inner;
    }
    if (e instanceof BooleanValue b) {
      return Boolean.toString(b.getValue());
    }
    if (e instanceof HexValue h) {
      return hex(h.getValue());
    }
    if (e instanceof DateTimeLiteralExpression d) {
      String v = d.getValue();
      return v.length() >= 2 && v.startsWith("'") && v.endsWith("'") ? v.substring(1, v.length() - 1) : v;
    }
    if (e instanceof CastExpression c) {
      return text(c.getLeftExpression(), dialect);
    }
    if (e instanceof Function f) {
      return function(f, dialect);
    }
    return e.toString();
  }

  private static String string(StringValue s, SqlDumpReader.Dialect dialect) {
    String prefix = s.getPrefix() == null ? "" : s.getPrefix().toUpperCase(Locale.ROOT);
    String raw = s.getValue();
    if (prefix.equals("Q") && raw.length() >= 2) {
      return raw.substring(1, raw.length() - 1);
    }
    if (dialect == SqlDumpReader.Dialect.MYSQL || prefix.equals("E")) {
      return SqlEscapes.unescape(raw, SqlEscapes.Style.LITERAL);
    }
    return raw.replace("''", "'");
  }

  private static String hex(String literal) {
    String digits = literal;
    if (digits.startsWith("0x") || digits.startsWith("0X")) {
      digits = digits.substring(2);
    } else if (digits.length() >= 3 && (digits.charAt(0) == 'X' || digits.charAt(0) == 'x') && digits.charAt(1) == '\'') {
      digits = digits.substring(2, digits.length() - 1);
    }
    try {
      byte[] bytes = HexFormat.of().parseHex(digits);
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    } catch (IllegalArgumentException | CharacterCodingException e) {
      return literal;
    }
  }

  private static String function(Function f, SqlDumpReader.Dialect dialect) {
    String name = f.getName() == null ? "" : f.getName().toLowerCase(Locale.ROOT);
    List<?> args = f.getParameters() == null ? List.of() : f.getParameters();
    switch (name) {
      case "replace" -> {
        if (args.size() == 3) {
          String a = text((Expression) args.get(0), dialect);
          String b = text((Expression) args.get(1), dialect);
          String c = text((Expression) args.get(2), dialect);
          return a == null || b == null || c == null ? null : a.replace(b, c);
        }
      }
      case "char", "chr", "nchar" -> {
        StringBuilder sb = new StringBuilder();
        for (Object a : args) {
          String v = text((Expression) a, dialect);
          try {
            sb.appendCodePoint(Integer.parseInt(v));
          } catch (NumberFormatException | NullPointerException bad) {
            return f.toString();
          }
        }
        return sb.toString();
      }
      case "to_date", "to_timestamp", "to_char", "to_number", "to_clob", "to_nclob" -> {
        if (!args.isEmpty()) {
          return text((Expression) args.get(0), dialect);
        }
      }
      case "concat" -> {
        StringBuilder sb = new StringBuilder();
        for (Object a : args) {
          String v = text((Expression) a, dialect);
          if (v == null) {
            return null;
          }
          sb.append(v);
        }
        return sb.toString();
      }
      default -> { }
    }
    return f.toString();
  }
}
