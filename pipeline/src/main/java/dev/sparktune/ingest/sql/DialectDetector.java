package dev.sparktune.ingest.sql;

import dev.sparktune.ingest.sql.SqlDumpReader.Dialect;
import java.io.BufferedReader;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Guesses a dump's dialect by scoring telltale text (comments, keywords, quoting) in its head. */
final class DialectDetector {
  private DialectDetector() {}

  /** Guesses the dialect from telltale text in the first 64 KB. */
  static Dialect detect(BufferedReader in) throws IOException {
    char[] buf = new char[1 << 16];
    in.mark(buf.length + 1);
    int n = 0;
    int r;
    while (n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0) {
      n += r;
    }
    in.reset();
    String head = new String(buf, 0, n);
    String upper = head.toUpperCase(Locale.ROOT);
    Map<Dialect, Integer> score = new LinkedHashMap<>();
    score.put(Dialect.MYSQL, count(head, "`") / 4 + count(upper, "/*!") * 5 + count(upper, "LOCK TABLES") * 5
        + count(upper, "ENGINE=") * 5 + count(upper, "MYSQL DUMP") * 20 + count(upper, "MARIADB DUMP") * 20);
    score.put(Dialect.POSTGRES, count(upper, "PG_DUMP") * 20 + count(upper, "SET STATEMENT_TIMEOUT") * 10
        + count(upper, "FROM STDIN") * 10 + count(upper, "PUBLIC.") * 2 + count(upper, "OWNER TO") * 5);
    score.put(Dialect.SQLITE, count(upper, "PRAGMA ") * 10 + count(upper, "SQLITE_SEQUENCE") * 10
        + count(upper, "BEGIN TRANSACTION;") * 5);
    score.put(Dialect.SQLSERVER, count(upper, "[DBO]") * 3 + count(upper, "\nGO") * 5 + count(upper, "SET ANSI_NULLS") * 10
        + count(upper, "IDENTITY_INSERT") * 10 + count(upper, "NVARCHAR") * 2);
    score.put(Dialect.ORACLE, count(upper, "SET DEFINE OFF") * 20 + count(upper, "TO_DATE(") * 3
        + count(upper, "VARCHAR2") * 5 + count(upper, "\n/\n") * 3 + count(upper, "Q'[") * 3);
    Dialect best = Dialect.ANSI;
    int bestScore = 0;
    for (Map.Entry<Dialect, Integer> e : score.entrySet()) {
      if (e.getValue() > bestScore) {
        best = e.getKey();
        bestScore = e.getValue();
      }
    }
    return best;
  }

  private static int count(String s, String needle) {
    int c = 0;
    for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + needle.length())) {
      c++;
    }
    return c;
  }
}
