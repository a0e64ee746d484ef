package dev.sparktune.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.spark.ml.feature.HashingTF;
import org.apache.spark.ml.feature.RegexTokenizer;
import org.apache.spark.ml.feature.StopWordsRemover;
import org.apache.spark.ml.linalg.SparseVector;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** {@link DocumentTerms} gives the terms and hashed counts of MLlib's RegexTokenizer, StopWordsRemover and HashingTF. */
class DocumentTermsTest {
  /** Pieces that exercise the tokenizer's classes: letters and numbers of every category, separators, stop words. */
  private static final String[] PIECES = {
      "the", "The", "THE", "don't", "DON'T", "isn't", "a", "an", "of", "Pasta", "boil", "x", "7", "42", "3.14",
      "Ⅻ", "½", "²", "٣٤", "ǅungla", "ʰa", "中文字", "ΣΟΦΙΑ", "ΟΔΟΣ", "İstanbul", "straße", "ﬁne", "𝒜𝒷", "𝟘𝟙",
      "café", "cafe\u0301", "naïve", "e\u0301e\u0301", "-", "_", "__init__", "a_b", "x-y", "...", "!?", "\u00a0",
      "\t", "\n", "\u2028", "\ud800", "\udc00x", "🙂", "a🙂b", "I'M", "you're", "you’re", "ALL-CAPS", "mIxEd"};

  private static List<String> texts() {
    Random random = new Random(11);
    List<String> texts = new ArrayList<>();
    texts.add("");
    for (int i = 0; i < 2_000; i++) {
      StringBuilder text = new StringBuilder();
      int words = random.nextInt(14);
      for (int w = 0; w < words; w++) {
        text.append(PIECES[random.nextInt(PIECES.length)]);
        text.append(random.nextInt(5) == 0 ? "" : random.nextInt(4) == 0 ? ", " : " ");
      }
      texts.add(text.toString());
    }
    return texts;
  }

  @Test
  void termsAndCountsAreThoseOfMllib() {
    var spark = TestSpark.get();
    List<String> texts = texts();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      rows.add(RowFactory.create(i, texts.get(i)));
    }
    StructType schema = new StructType().add("i", DataTypes.IntegerType).add("doc", DataTypes.StringType);
    Dataset<Row> tokens = new RegexTokenizer().setInputCol("doc").setOutputCol("tokens")
        .setPattern("[^\\p{L}\\p{N}]+").setGaps(true).setMinTokenLength(2).setToLowercase(true)
        .transform(spark.createDataFrame(rows, schema));
    Dataset<Row> terms = new StopWordsRemover().setInputCol("tokens").setOutputCol("terms").transform(tokens);
    HashingTF hashing = new HashingTF().setInputCol("terms").setOutputCol("tf").setNumFeatures(64);
    List<Row> expected = hashing.transform(terms).orderBy("i").select("terms", "tf").collectAsList();

    StopWordsRemover remover = new StopWordsRemover();
    DocumentTerms documentTerms = new DocumentTerms(Arrays.asList(remover.getStopWords()),
        new Locale(remover.getLocale()));
    int nonEmpty = 0;
    int collisions = 0;
    for (int i = 0; i < texts.size(); i++) {
      List<String> actual = documentTerms.terms(texts.get(i));
      assertEquals(expected.get(i).getList(0), actual, "terms of " + texts.get(i));
      DocumentTerms.Counts counts = DocumentTerms.counts(actual, term -> DocumentTerms.hashingTfIndex(term, 64));
      SparseVector tf = ((Vector) expected.get(i).getAs(1)).toSparse();
      assertEquals(Arrays.toString(tf.indices()), Arrays.toString(counts.indices()), "indices of " + texts.get(i));
      assertEquals(Arrays.toString(tf.values()), Arrays.toString(counts.values()), "counts of " + texts.get(i));
      nonEmpty += actual.isEmpty() ? 0 : 1;
      collisions += counts.indices().length < actual.size() ? 1 : 0;
    }
    // The texts do exercise the comparison: most have terms, and repeated or colliding terms are counted.
    assertTrue(nonEmpty > 1_500, "texts with terms: " + nonEmpty);
    assertTrue(collisions > 100, "texts with a count above 1: " + collisions);
  }

  @Test
  void lettersAndNumbersOfEveryCategoryMakeTerms() {
    assertTrue(DocumentTerms.isTermChar('Ⅻ')); // Nl
    assertTrue(DocumentTerms.isTermChar('½')); // No
    assertTrue(DocumentTerms.isTermChar('ǅ')); // Lt
    assertTrue(DocumentTerms.isTermChar("𝒜".codePointAt(0))); // Lu, outside the BMP
    assertTrue(!DocumentTerms.isTermChar('_') && !DocumentTerms.isTermChar('\u0301') && !DocumentTerms.isTermChar('\ud800'));
  }
}
