package dev.sparktune.ingest.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.core.ChatMessage;
import dev.sparktune.ingest.ReadResult;
import dev.sparktune.ingest.QueuedRecordReader;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PushbackReader;
import java.io.Reader;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Streams alpaca-style JSON (an array of objects, or one object per line) and ShareGPT/chat
 * conversations ({@code conversations} with {@code from}/{@code value}, or {@code messages} with
 * {@code role}/{@code content}), each of which becomes one conversation record with its messages in
 * order (roles mapped to system, user, assistant). Which role orders are valid is the chat
 * template's business. A conversation with a malformed turn or none from the assistant is rejected
 * whole, naming the turn; a last user turn without a reply is rejected on its own and the turns
 * before it are kept.
 *
 * <p>A bad line of a JSON-lines file is rejected alone. A syntax error inside an array cannot be
 * skipped reliably, so it rejects the rest of that file in one row that says so. A record nested
 * deeper than {@link #MAX_DEPTH} levels is rejected alone in either layout, and is never parsed deeper
 * than that.
 */
public final class JsonRecordReader extends QueuedRecordReader {
  private static final Set<String> HUMAN = Set.of("human", "user");
  private static final Set<String> ASSISTANT = Set.of("gpt", "assistant", "chatgpt", "bing", "bard", "model");
  private static final Set<String> SYSTEM = Set.of("system");

  /** How deep a record may nest (Jackson's default limit for a whole document). */
  static final int MAX_DEPTH = 1000;

  // One more level than MAX_DEPTH for the array around the records; DepthLimitingReader keeps to it.
  private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(200_000_000)
          .maxNestingDepth(MAX_DEPTH + 1).build())
      .build());

  /** Array, JSON lines, or decide from the first character. */
  public enum Layout { AUTO, ARRAY, JSONL }

  private final PushbackReader in;
  private Layout layout;
  private JsonParser arrayParser;
  private DepthLimitingReader arrayDepth;
  private BufferedReader lines;
  private int index;
  private int lineNo;
  private boolean done;

  public JsonRecordReader(Reader in, Layout layout) {
    this.in = new PushbackReader(in, 1);
    this.layout = layout;
  }

  @Override
  protected boolean fill() throws IOException {
    fillOnce();
    return !done;
  }

  private void fillOnce() throws IOException {
    if (layout == Layout.AUTO) {
      int c;
      do {
        c = in.read();
      } while (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\uFEFF');
      if (c < 0) {
        done = true;
        return;
      }
      in.unread(c);
      layout = c == '[' ? Layout.ARRAY : Layout.JSONL;
    }
    if (layout == Layout.ARRAY) {
      fillFromArray();
    } else {
      fillFromLines();
    }
  }

  private void fillFromArray() throws IOException {
    String locator = "index:" + index;
    try {
      if (arrayParser == null) {
        arrayDepth = new DepthLimitingReader(in, MAX_DEPTH + 1);
        arrayParser = MAPPER.getFactory().createParser(arrayDepth);
        JsonToken first = arrayParser.nextToken();
        if (first == null) {
          done = true;
          return;
        }
        if (first != JsonToken.START_ARRAY) {
          done = true;
          queue.add(new ReadResult.Reject("file", "json_syntax",
              "expected a JSON array of records, found " + first.asString(), null));
          return;
        }
      }
      JsonToken t = arrayParser.nextToken();
      if (t == JsonToken.END_ARRAY || t == null) {
        done = true;
        if (t == JsonToken.END_ARRAY && arrayParser.nextToken() != null) {
          queue.add(new ReadResult.Reject("after:" + locator, "json_syntax",
              "content after the closing ']' at " + where(arrayParser.currentLocation()) + " was not read", null));
        }
        return;
      }
      JsonNode node = MAPPER.readTree(arrayParser);
      index++;
      DepthLimitingReader.Elision deep = arrayDepth.firstBefore(arrayParser.currentLocation().getCharOffset());
      if (deep != null) {
        queue.add(new ReadResult.Reject(locator, "json_too_deep", "element nested deeper than " + MAX_DEPTH
            + " levels (at line " + deep.line() + ", column " + deep.column() + "); skipped", null));
        return;
      }
      toRecords(node, locator, null);
    } catch (JsonProcessingException e) {
      done = true;
      queue.add(new ReadResult.Reject(locator, "json_syntax", e.getOriginalMessage() + " at "
          + where(e.getLocation()) + "; this element and the rest of the file could not be read", null));
    }
  }

  private static String where(JsonLocation loc) {
    return loc == null ? "unknown position" : "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
  }

  private void fillFromLines() throws IOException {
    if (lines == null) {
      lines = new BufferedReader(in, 1 << 16);
    }
    String line;
    do {
      line = lines.readLine();
      lineNo++;
      if (line == null) {
        done = true;
        return;
      }
    } while (line.isBlank());
    String locator = "line:" + lineNo;
    JsonNode node;
    DepthLimitingReader depth = new DepthLimitingReader(new StringReader(line), MAX_DEPTH);
    try {
      node = MAPPER.readTree(depth);
    } catch (JsonProcessingException e) {
      queue.add(new ReadResult.Reject(locator, "json_syntax",
          e.getOriginalMessage() + " at column " + e.getLocation().getColumnNr(), line));
      return;
    }
    DepthLimitingReader.Elision deep = depth.firstBefore(Long.MAX_VALUE);
    if (deep != null) {
      queue.add(new ReadResult.Reject(locator, "json_too_deep", "record nested deeper than " + MAX_DEPTH
          + " levels (at column " + deep.column() + "); skipped", line));
      return;
    }
    toRecords(node, locator, line);
  }

  private void toRecords(JsonNode node, String locator, String raw) {
    if (!node.isObject()) {
      queue.add(new ReadResult.Reject(locator, "json_not_object",
          "expected an object, found " + node.getNodeType().name().toLowerCase(Locale.ROOT), rawOf(node, raw)));
      return;
    }
    JsonNode conversation = node.has("conversations") ? node.get("conversations") : node.get("messages");
    if (conversation != null) {
      conversation(node, conversation, locator, raw);
      return;
    }
    Map<String, String> columns = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> f = fields.next();
      JsonNode v = f.getValue();
      if (v.isNull()) {
        columns.put(f.getKey(), null);
      } else if (v.isValueNode()) {
        columns.put(f.getKey(), v.asText());
      } else {
        // Containers are kept as JSON text; mapping one into a text field is the reader's choice.
        columns.put(f.getKey(), v.toString());
      }
    }
    queue.add(new ReadResult.Fields(locator, columns, Map.of(), false));
  }

  private void conversation(JsonNode record, JsonNode turns, String locator, String raw) {
    if (!turns.isArray() || turns.isEmpty()) {
      queue.add(new ReadResult.Reject(locator, "conversation_empty",
          "'conversations'/'messages' must be a non-empty list of turns", rawOf(record, raw)));
      return;
    }
    Map<String, String> meta = new LinkedHashMap<>();
    JsonNode id = record.get("id");
    if (id != null && id.isValueNode() && !id.isNull()) {
      meta.put("conversation_id", id.asText());
    }
    List<ChatMessage> messages = new ArrayList<>(turns.size());
    for (int i = 0; i < turns.size(); i++) {
      JsonNode turn = turns.get(i);
      JsonNode roleNode = turn.has("from") ? turn.get("from") : turn.get("role");
      JsonNode valueNode = turn.has("value") ? turn.get("value") : turn.get("content");
      if (roleNode == null || !roleNode.isTextual() || valueNode == null || !valueNode.isTextual()) {
        queue.add(new ReadResult.Reject(locator, "conversation_bad_turn", "turn " + i
            + ": a turn needs a text 'from' (or 'role') and a text 'value' (or 'content')", rawOf(record, raw)));
        return;
      }
      String role = roleNode.asText().toLowerCase(Locale.ROOT);
      String canonical = SYSTEM.contains(role) ? "system" : HUMAN.contains(role) ? "user"
          : ASSISTANT.contains(role) ? "assistant" : null;
      if (canonical == null) {
        queue.add(new ReadResult.Reject(locator, "conversation_bad_turn", "turn " + i + ": unknown speaker '"
            + roleNode.asText() + "' (expected system, human/user or gpt/assistant)", rawOf(record, raw)));
        return;
      }
      messages.add(new ChatMessage(canonical, valueNode.asText()));
    }
    if (messages.stream().noneMatch(m -> m.role().equals("assistant"))) { // so the loop below ends
      queue.add(new ReadResult.Reject(locator, "conversation_no_reply",
          "a conversation without an assistant turn has nothing to train on", rawOf(record, raw)));
      return;
    }
    // A last question without a reply cannot be trained on: it goes to the rejects, the rest stays.
    while (messages.get(messages.size() - 1).role().equals("user")) {
      int last = messages.size() - 1;
      queue.add(new ReadResult.Reject(locator + "/turn:" + last, "conversation_unpaired_turn",
          "a user turn with no reply after it ends the conversation; the turns before it are kept",
          messages.get(last).content()));
      messages.remove(last);
    }
    JsonNode system = record.get("system");
    if (system != null && system.isTextual() && !system.asText().isBlank() && !messages.get(0).role().equals("system")) {
      messages.add(0, new ChatMessage("system", system.asText())); // a record-level system prompt (e.g. OpenHermes)
    }
    queue.add(new ReadResult.Fields(locator, Map.of(), meta, false, messages));
  }

  private static String rawOf(JsonNode node, String raw) {
    return raw != null ? raw : node.toString();
  }

  @Override
  public void close() throws IOException {
    if (arrayParser != null) {
      arrayParser.close();
    }
    in.close();
  }
}
