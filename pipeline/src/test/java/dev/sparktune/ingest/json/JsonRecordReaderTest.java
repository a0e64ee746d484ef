package dev.sparktune.ingest.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.core.ChatMessage;
import dev.sparktune.ingest.ReadResult;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonRecordReaderTest {

  private static List<ReadResult> read(String json) throws IOException {
    List<ReadResult> out = new ArrayList<>();
    try (JsonRecordReader r = new JsonRecordReader(new StringReader(json), JsonRecordReader.Layout.AUTO)) {
      r.forEachRemaining(out::add);
    }
    return out;
  }

  private static ReadResult.Fields fields(ReadResult r) {
    return assertInstanceOf(ReadResult.Fields.class, r, () -> "expected fields, got " + r);
  }

  private static ReadResult.Reject reject(ReadResult r) {
    return assertInstanceOf(ReadResult.Reject.class, r, () -> "expected a reject, got " + r);
  }

  @Test
  void alpacaArray() throws IOException {
    List<ReadResult> rs = read("""
        [ {"instruction": "Add", "input": "2 and 3", "output": "5", "score": 0.5},
          {"instruction": "Capital of France?", "output": "Paris", "input": null},
          42 ]
        """);
    assertEquals(3, rs.size());
    ReadResult.Fields first = fields(rs.get(0));
    assertEquals("index:0", first.locator());
    assertEquals("2 and 3", first.columns().get("input"));
    assertEquals("0.5", first.columns().get("score"));
    assertNull(fields(rs.get(1)).columns().get("input"));
    assertEquals("json_not_object", reject(rs.get(2)).reason());
    assertEquals("index:2", rs.get(2).locator());
  }

  @Test
  void syntaxErrorInAnArrayRejectsTheRestOnce() throws IOException {
    List<ReadResult> rs = read("[{\"output\": \"a\"}, {\"output\": \"b\" \"oops\"}, {\"output\": \"c\"}]");
    assertEquals(2, rs.size());
    fields(rs.get(0));
    ReadResult.Reject bad = reject(rs.get(1));
    assertEquals("json_syntax", bad.reason());
    assertEquals("index:1", bad.locator());
    assertTrue(bad.detail().contains("the rest of the file could not be read"), bad.detail());
    assertTrue(bad.detail().contains("line 1"), bad.detail());
  }

  @Test
  void jsonLinesWithABadLine() throws IOException {
    List<ReadResult> rs = read("{\"text\": \"one\"}\n\n{\"text\": \"two\"\n{\"text\": \"three\"}\n");
    assertEquals(3, rs.size());
    assertEquals("line:1", fields(rs.get(0)).locator());
    ReadResult.Reject bad = reject(rs.get(1));
    assertEquals("line:3", bad.locator());
    assertEquals("json_syntax", bad.reason());
    assertEquals("{\"text\": \"two\"", bad.raw());
    assertEquals("three", fields(rs.get(2)).columns().get("text"));
  }

  @Test
  void arrayElementNestedTooDeepIsRejectedAloneAndBracketsInStringsDoNotCount() throws IOException {
    int limit = JsonRecordReader.MAX_DEPTH;
    // Strings full of brackets, quotes and escapes around the deep value: none of them is nesting.
    String noise = "\"[[{{\\\"]]}}\\\\\"";
    String json = "[{\"output\": " + noise + "},\n"
        + "{\"output\": \"deep\", \"input\": " + "[".repeat(limit) + "[" + noise + "]" + "]".repeat(limit) + "},\n"
        + "{\"output\": \"ok\", \"input\": " + "[".repeat(limit - 1) + noise + "]".repeat(limit - 1) + "}]";
    List<ReadResult> rs = read(json);
    assertEquals(3, rs.size(), rs::toString);
    assertEquals("[[{{\"]]}}\\", fields(rs.get(0)).columns().get("output"));
    ReadResult.Reject deep = reject(rs.get(1));
    assertEquals("json_too_deep", deep.reason());
    assertEquals("index:1", deep.locator());
    String prefix = "{\"output\": \"deep\", \"input\": ";
    assertEquals("element nested deeper than 1000 levels (at line 2, column " + (prefix.length() + limit)
        + "); skipped", deep.detail());
    ReadResult.Fields atLimit = fields(rs.get(2));
    assertEquals("index:2", atLimit.locator());
    assertEquals(2 * (limit - 1) + noise.length(), atLimit.columns().get("input").length(),
        "a record exactly at the limit is read, its nested value kept as JSON text");
  }

  @Test
  void jsonLineNestedTooDeepIsRejectedAlone() throws IOException {
    String deep = "{\"text\": \"{[\", \"input\": " + "{\"a\": ".repeat(2000) + "1" + "}".repeat(2000) + "}";
    List<ReadResult> rs = read("{\"text\": \"one\"}\n" + deep + "\n{\"text\": \"three\"}\n");
    assertEquals(3, rs.size());
    ReadResult.Reject bad = reject(rs.get(1));
    assertEquals("json_too_deep", bad.reason());
    assertEquals("line:2", bad.locator());
    assertEquals("record nested deeper than 1000 levels (at column "
        + ("{\"text\": \"{[\", \"input\": ".length() + 999 * "{\"a\": ".length() + 1) + "); skipped", bad.detail());
    assertEquals(deep, bad.raw());
    assertEquals("three", fields(rs.get(2)).columns().get("text"));
  }

  @Test
  void shareGptBecomesOneConversationRecord() throws IOException {
    List<ReadResult> rs = read("""
        {"id": "c1", "conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}, {"from": "human", "value": "Bye"}, {"from": "gpt", "value": "Goodbye."}]}
        {"messages": [{"role": "assistant", "content": "Unprompted"}, {"role": "user", "content": "Q1"}, {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"}, {"role": "user", "content": "left hanging"}]}
        {"system": "Record-level system.", "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}
        {"conversations": [{"from": "human", "value": "Q"}, {"from": "narrator", "value": "?"}, {"from": "gpt", "value": "A"}]}
        {"conversations": [{"from": "human", "value": "only a question"}]}
        """);
    assertEquals(6, rs.size(), rs.toString());
    ReadResult.Fields a = fields(rs.get(0));
    assertEquals("line:1", a.locator());
    assertEquals(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi"),
        new ChatMessage("assistant", "Hello!"), new ChatMessage("user", "Bye"), new ChatMessage("assistant", "Goodbye.")),
        a.messages(), "every turn, in order, roles mapped");
    assertEquals("c1", a.meta().get("conversation_id"));
    assertTrue(a.columns().isEmpty());
    // Role order is the chat template's business; only the unanswered last question is rejected.
    ReadResult.Reject hanging = reject(rs.get(1));
    assertEquals("conversation_unpaired_turn", hanging.reason());
    assertEquals("line:2/turn:4", hanging.locator());
    assertEquals("left hanging", hanging.raw());
    assertEquals(List.of("assistant", "user", "user", "assistant"),
        fields(rs.get(2)).messages().stream().map(ChatMessage::role).toList());
    assertEquals(new ChatMessage("system", "Record-level system."), fields(rs.get(3)).messages().get(0));
    ReadResult.Reject narrator = reject(rs.get(4));
    assertEquals("conversation_bad_turn", narrator.reason());
    assertEquals("turn 1: unknown speaker 'narrator' (expected system, human/user or gpt/assistant)", narrator.detail());
    assertEquals("conversation_no_reply", reject(rs.get(5)).reason());
  }
}
