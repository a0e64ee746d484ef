package dev.sparktune.ingest.html;

import dev.sparktune.ingest.ReadResult;
import dev.sparktune.ingest.QueuedRecordReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.select.Elements;

/**
 * Reads one HTML page with jsoup (charset from the byte-order mark or the page's meta tag; never
 * fetches anything), as one record of its main text, or as records picked out by CSS selectors.
 * Every record carries the page's {@code title} and {@code lang} in its meta; a page that yields
 * nothing is one reject that says why.
 */
public final class HtmlRecordReader extends QueuedRecordReader {
  private final InputStream in;
  private final boolean mainText;
  private final String recordSelector;
  private final Map<String, String> selectors;
  private final int maxPageBytes;

  public HtmlRecordReader(InputStream in, boolean mainText, String recordSelector, Map<String, String> selectors,
      int maxPageBytes) {
    this.in = in;
    this.mainText = mainText;
    this.recordSelector = recordSelector;
    this.selectors = selectors;
    this.maxPageBytes = maxPageBytes;
  }

  /** The page is read whole on the first call; its records then drain from the queue. */
  @Override
  protected boolean fill() throws IOException {
    read();
    return false;
  }

  private void read() throws IOException {
    byte[] bytes = in.readNBytes(maxPageBytes + 1);
    if (bytes.length > maxPageBytes) {
      queue.add(new ReadResult.Reject("page", "html_too_large", "page is larger than max_page_bytes ("
          + maxPageBytes + " bytes); raise html.max_page_bytes to read it",
          new String(bytes, 0, 2000, java.nio.charset.StandardCharsets.UTF_8)));
      return;
    }
    Document doc = Jsoup.parse(new ByteArrayInputStream(bytes), null, "");
    Map<String, String> meta = new LinkedHashMap<>();
    String title = doc.title().strip();
    if (!title.isEmpty()) {
      meta.put("title", title);
    }
    Element html = doc.selectFirst("html");
    String lang = html == null ? "" : html.attr("lang").strip();
    if (!lang.isEmpty()) {
      meta.put("lang", lang);
    }
    if (mainText) {
      String text = MainTextExtractor.extract(doc);
      if (text.isBlank()) {
        queue.add(new ReadResult.Reject("page", "html_no_text", "no main text found in the page",
            doc.body() == null ? null : doc.body().html()));
        return;
      }
      Map<String, String> columns = new LinkedHashMap<>();
      columns.put("text", text);
      columns.put("title", title.isEmpty() ? null : title);
      columns.put("lang", lang.isEmpty() ? null : lang);
      queue.add(new ReadResult.Fields("page", columns, meta, false));
    } else if (recordSelector != null) {
      Elements records = doc.select(recordSelector);
      if (records.isEmpty()) {
        queue.add(new ReadResult.Reject("page", "html_no_match", "record selector '" + recordSelector
            + "' matched nothing", null));
        return;
      }
      for (int i = 0; i < records.size(); i++) {
        Map<String, String> columns = new LinkedHashMap<>();
        for (Map.Entry<String, String> sel : selectors.entrySet()) {
          Element e = records.get(i).selectFirst(sel.getValue());
          columns.put(sel.getKey(), e == null ? null : TextRenderer.render(e));
        }
        queue.add(new ReadResult.Fields("match:" + i, columns, meta, false));
      }
    } else {
      zipSelectors(doc, meta);
    }
  }

  /** Without a record selector, the i-th match of every field selector makes record i. */
  private void zipSelectors(Document doc, Map<String, String> meta) {
    Map<String, Elements> matches = new LinkedHashMap<>();
    List<String> counts = new ArrayList<>();
    int n = -1;
    boolean agree = true;
    for (Map.Entry<String, String> sel : selectors.entrySet()) {
      Elements found = doc.select(sel.getValue());
      matches.put(sel.getKey(), found);
      counts.add(sel.getKey() + " '" + sel.getValue() + "' matched " + found.size());
      if (n >= 0 && found.size() != n) {
        agree = false;
      }
      n = Math.max(n, found.size());
    }
    if (!agree) {
      queue.add(new ReadResult.Reject("page", "html_selector_mismatch", "selectors matched different numbers of "
          + "elements, so they cannot be paired: " + String.join(", ", counts)
          + " (use html.record to select one element per record)", null));
      return;
    }
    if (n == 0) {
      queue.add(new ReadResult.Reject("page", "html_no_match", "no selector matched: " + String.join(", ", counts),
          null));
      return;
    }
    for (int i = 0; i < n; i++) {
      Map<String, String> columns = new LinkedHashMap<>();
      for (Map.Entry<String, Elements> m : matches.entrySet()) {
        columns.put(m.getKey(), TextRenderer.render(m.getValue().get(i)));
      }
      queue.add(new ReadResult.Fields("match:" + i, columns, meta, false));
    }
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
