package dev.sparktune.ingest.html;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.ingest.ReadResult;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HtmlRecordReaderTest {
  private static final Path DIR = Path.of("src/test/resources/ingest/html");

  private static List<ReadResult> read(String file, boolean mainText, String record, Map<String, String> selectors)
      throws IOException {
    List<ReadResult> out = new ArrayList<>();
    try (InputStream in = Files.newInputStream(DIR.resolve(file));
        HtmlRecordReader r = new HtmlRecordReader(in, mainText, record, selectors, 1 << 20)) {
      r.forEachRemaining(out::add);
    }
    return out;
  }

  @Test
  void mainTextKeepsContentAndDropsBoilerplate() throws IOException {
    List<ReadResult> rs = read("article.html", true, null, Map.of());
    assertEquals(1, rs.size());
    ReadResult.Fields page = assertInstanceOf(ReadResult.Fields.class, rs.get(0));
    String text = page.columns().get("text");
    for (String keep : List.of(
        "How we cut our Spark shuffle time in half",
        "Our nightly pipeline spent most of its time in a single shuffle.",
        "Finding the hot spot",
        "- We sampled the join keys and found that 0.1% of customers produced 40% of the events.",
        "df.withColumn(\"salt\", (rand() * 32).cast(\"int\"))",
        "it was filling the executors' memory and forcing spills.")) {
      assertTrue(text.contains(keep), "missing '" + keep + "' in:\n" + text);
    }
    for (String drop : List.of("Skip to content", "Search the blog", "Careers", "We use cookies", "Accept all",
        "Share on X", "Related posts", "Five Parquet settings", "Great post", "Subscribe to our newsletter",
        "Advertisement", "Hidden tracking", "© 2026 Acme", "SCRIPT TEXT", "STYLE TEXT")) {
      assertFalse(text.contains(drop), "boilerplate '" + drop + "' kept in:\n" + text);
    }
    assertTrue(text.contains("a handful ran for half an hour. That pattern almost always means skew"),
        "whitespace inside a paragraph is collapsed");
    assertTrue(text.contains("forty minutes instead of ninety.\n\nFinding the hot spot\n\nThe Spark UI"),
        "paragraph breaks are kept:\n" + text);
    assertEquals("How we cut our Spark shuffle time in half | Acme Engineering", page.meta().get("title"));
    assertEquals("en-GB", page.meta().get("lang"));
  }

  @Test
  void selectorsWithARecordElement() throws IOException {
    Map<String, String> selectors = new LinkedHashMap<>();
    selectors.put("instruction", "h3.q");
    selectors.put("output", "div.a");
    List<ReadResult> rs = read("faq.html", false, "div.faq-item", selectors);
    assertEquals(3, rs.size());
    ReadResult.Fields first = assertInstanceOf(ReadResult.Fields.class, rs.get(0));
    assertEquals("match:0", first.locator());
    assertEquals("Wie ändere ich mein Passwort?", first.columns().get("instruction"));
    assertEquals("Öffnen Sie Einstellungen › Konto.\n\nWählen Sie dann „Passwort ändern“.", first.columns().get("output"));
    assertEquals("de", first.meta().get("lang"));
    assertNull(((ReadResult.Fields) rs.get(2)).columns().get("output"), "an item without an answer has null output");
  }

  @Test
  void selectorsZippedByPosition() throws IOException {
    Map<String, String> pairs = new LinkedHashMap<>();
    pairs.put("instruction", "dl.glossary dt");
    pairs.put("output", "dl.glossary dd");
    List<ReadResult> rs = read("faq.html", false, null, pairs);
    assertEquals(2, rs.size());
    assertEquals("SSO", ((ReadResult.Fields) rs.get(1)).columns().get("instruction"));
    assertEquals("Einmalanmeldung", ((ReadResult.Fields) rs.get(1)).columns().get("output"));

    Map<String, String> uneven = new LinkedHashMap<>();
    uneven.put("instruction", "h3.q");
    uneven.put("output", "div.a");
    ReadResult.Reject mismatch = assertInstanceOf(ReadResult.Reject.class, read("faq.html", false, null, uneven).get(0));
    assertEquals("html_selector_mismatch", mismatch.reason());
    assertTrue(mismatch.detail().contains("instruction 'h3.q' matched 3, output 'div.a' matched 2"), mismatch.detail());
  }

  @Test
  void brokenEncodingAndTruncatedMarkupStillYieldText() throws IOException {
    ReadResult.Fields page = assertInstanceOf(ReadResult.Fields.class,
        read("broken-encoding.html", true, null, Map.of()).get(0));
    String text = page.columns().get("text");
    assertTrue(text.contains("Our café serves crème brûlée every day"), text);
    assertTrue(text.contains("The page is cut off here and the markup is never clos"), text);
    assertEquals("Café menu", page.meta().get("title"));
  }

  @Test
  void aPageWithoutContentIsARejectWithItsReason() throws IOException {
    ReadResult.Reject r = assertInstanceOf(ReadResult.Reject.class, read("nav-only.html", true, null, Map.of()).get(0));
    assertEquals("html_no_text", r.reason());
    assertEquals("page", r.locator());
  }
}
