package dev.sparktune.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparktune.TestSpark;
import dev.sparktune.config.CleanConfig;
import dev.sparktune.config.ConfigBinder;
import dev.sparktune.config.ConfigTree;
import dev.sparktune.core.ChatMessage;
import dev.sparktune.core.Schemas;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** The Java normalization pass gives exactly what the Spark SQL regex chain (the GPU plan) gives. */
class TextNormalizerTest {
  private static final String[] PIECES = {"a", "b", "Zz", " ", "  ", "   ", "\u00A0", "\u00A0\u00A0", "\t", "\n", "\n\n",
      "\n\n\n\n", "\r", "\r\n", "\u200B", "\u00AD", "\uFEFF", "\u0007", "\u0085", "\u2063", "\u000B", "\f", "é", "e\u0301",
      "\uFB01", "\uD83D\uDE00", "x.", "..."};

  @Test
  void javaPassEqualsSqlChainOnTrickyWhitespace() {
    SparkSession spark = TestSpark.get();
    Random random = new Random(7);
    List<Row> rows = new ArrayList<>();
    List<String> texts = new ArrayList<>(List.of("", " ", "\n\n", "a  b", "a\u00A0\u00A0b", "  indented  x  \n  y\t \n",
        "x \u00A0 \n\n\n\ny", "\r\r\n\n\r"));
    for (int i = 0; i < 3000; i++) {
      StringBuilder b = new StringBuilder();
      for (int k = random.nextInt(12); k >= 0; k--) {
        b.append(PIECES[random.nextInt(PIECES.length)]);
      }
      texts.add(b.toString());
    }
    for (int i = 0; i < texts.size(); i++) {
      String t = texts.get(i);
      Object messages = i % 5 == 0 ? Schemas.messagesValue(List.of(new ChatMessage("user", t), new ChatMessage("assistant", t)))
          : null; // a conversation's turns are normalized the same way
      rows.add(RowFactory.create("id" + i, "s", "json", "u", "l" + i, t, i % 3 == 0 ? null : t, t, t, java.util.Map.of(),
          messages));
    }
    Dataset<Row> in = spark.createDataFrame(rows, Schemas.RECORD);
    // NFC keeps NBSPs (NFKC makes them spaces), so the collapsing rules meet them.
    for (String yaml : List.of("{}", "normalize: {unicode: nfkc}", "normalize: {unicode: nfc}",
        "normalize: {unicode: none, collapse_whitespace: false}")) {
      CleanStage stage = new CleanStage(ConfigBinder.bind(ConfigTree.parse(yaml, "test"), CleanConfig.class));
      List<Row> sql = stage.normalizeSql(in).orderBy("locator").collectAsList();
      List<Row> java = stage.normalizeJava(in).orderBy("locator").collectAsList();
      assertEquals(sql.size(), java.size());
      for (int i = 0; i < sql.size(); i++) {
        assertEquals(sql.get(i), java.get(i), yaml + ": " + escape(texts.get(Integer.parseInt(sql.get(i).getString(4)
            .substring(1)))));
      }
    }
  }

  private static String escape(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(c < 0x20 || c > 0x7E ? String.format("\\u%04X", (int) c) : String.valueOf(c));
    }
    return b.toString();
  }
}
