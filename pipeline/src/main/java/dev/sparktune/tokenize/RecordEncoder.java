package dev.sparktune.tokenize;

import dev.sparktune.config.SourceConfig;
import dev.sparktune.core.ChatMessage;
import dev.sparktune.core.Schemas;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * Turns record rows into tokenized rows of {@link TokenizeStage#WORK}: an instruction record through
 * the prompt template, a plain text as it is, and a conversation (or, under {@code template: model},
 * any record with an instruction, and any record with a system prompt) through the chat template;
 * then the length limit. A record the chat template rejects gets the template's message as its reason.
 */
final class RecordEncoder {
  /** What the encoder needs, shipped to the tasks. */
  record Settings(PromptTemplate prompt, ChatTemplate chat, boolean allAsChat, int maxLength, boolean drop,
      int minResponse, boolean dropOldest) implements Serializable {}

  private final Tokenization tokenization;
  private final Settings s;
  private final ConversationEncoder conversations;

  RecordEncoder(Tokenization tokenization, Settings settings) {
    this.tokenization = tokenization;
    this.s = settings;
    this.conversations = settings.chat() == null ? null
        : new ConversationEncoder(settings.chat(), tokenization, settings.maxLength(), settings.dropOldest());
  }

  /** The rows of a batch, in order; instruction and text records are encoded in one tokenizer call. */
  List<Row> encode(List<Row> batch, int splitIndex) {
    List<Tokenization.Item> items = new ArrayList<>();
    List<List<ChatMessage>> conversationList = new ArrayList<>();
    List<Integer> conversationAt = new ArrayList<>();
    ConversationEncoder.Result[] chats = new ConversationEncoder.Result[batch.size()];
    for (int i = 0; i < batch.size(); i++) {
      Row r = batch.get(i);
      List<ChatMessage> messages = conversation(r);
      if (messages == null) {
        items.add(item(r, s.prompt()));
      } else if (conversations == null) {
        chats[i] = new ConversationEncoder.Result(null, 0, "chat_template",
            "a conversation needs a chat template: set tokenize.template to model, alpaca, chatml or llama3"
                + " (a custom template has no way to render turns)");
      } else {
        conversationList.add(messages);
        conversationAt.add(i);
      }
    }
    if (!conversationList.isEmpty()) {
      List<ConversationEncoder.Result> results = conversations.encodeAll(conversationList);
      for (int k = 0; k < results.size(); k++) {
        chats[conversationAt.get(k)] = results.get(k);
      }
    }
    List<Tokenization.Example> encoded = tokenization.encodeAll(items);
    List<Row> out = new ArrayList<>(batch.size());
    int next = 0;
    for (int i = 0; i < batch.size(); i++) {
      ConversationEncoder.Result c = chats[i];
      if (c == null) {
        out.add(example(batch.get(i), splitIndex, encoded.get(next++), 0));
      } else if (c.reason() != null) {
        out.add(row(batch.get(i), splitIndex, null, null, 0, false, c.droppedMessages(), c.reason(), c.detail()));
      } else {
        out.add(example(batch.get(i), splitIndex, c.example(), c.droppedMessages()));
      }
    }
    return out;
  }

  /** The messages to render with the chat template, or null for the prompt-template path. */
  private List<ChatMessage> conversation(Row r) {
    List<ChatMessage> messages = Schemas.messagesOf(r, Schemas.MESSAGES);
    if (messages != null) {
      return messages;
    }
    String instruction = r.isNullAt(5) ? null : r.getString(5);
    String input = r.isNullAt(6) ? null : r.getString(6);
    String output = r.isNullAt(7) ? null : r.getString(7);
    Map<String, String> meta = r.getJavaMap(9);
    String system = meta.get(SourceConfig.SYSTEM_FIELD);
    if (instruction == null && output == null || !s.allAsChat() && (system == null || s.chat() == null)) {
      return null;
    }
    List<ChatMessage> out = new ArrayList<>(3);
    if (system != null) {
      out.add(new ChatMessage("system", system));
    }
    String user = instruction == null ? "" : instruction;
    out.add(new ChatMessage("user", input == null || input.isEmpty() ? user : user + "\n\n" + input));
    out.add(new ChatMessage("assistant", output == null ? "" : output));
    return out;
  }

  static Tokenization.Item item(Row r, PromptTemplate template) {
    String instruction = r.isNullAt(5) ? null : r.getString(5);
    String input = r.isNullAt(6) ? null : r.getString(6);
    String output = r.isNullAt(7) ? null : r.getString(7);
    String text = r.isNullAt(8) ? null : r.getString(8);
    if (instruction == null && output == null) {
      return Tokenization.Item.text(text);
    }
    PromptTemplate.Rendered rendered = template.render(instruction, input, output);
    return new Tokenization.Item(rendered.prompt(), rendered.response(), rendered.literals());
  }

  /**
   * The length limit: an example over max_length is dropped ({@code overflow: drop}) or cut, keeping
   * the start; a cut that leaves fewer than min_response_tokens trained tokens drops it instead.
   */
  private Row example(Row r, int splitIndex, Tokenization.Example e, int droppedMessages) {
    long[] ids = e.inputIds();
    long[] labels = e.labels();
    int maxLength = s.maxLength();
    if (ids.length <= maxLength) {
      return row(r, splitIndex, ids, labels, ids.length, false, droppedMessages, null, null);
    }
    if (s.drop()) {
      return row(r, splitIndex, null, null, ids.length, false, droppedMessages, "too_long",
          ids.length + " tokens > max_length " + maxLength);
    }
    if (e.promptLength() > 0) {
      int kept = 0;
      for (int i = 0; i < maxLength; i++) {
        kept += labels[i] == Tokenization.IGNORE ? 0 : 1;
      }
      if (kept < s.minResponse()) {
        return row(r, splitIndex, null, null, ids.length, false, droppedMessages, "response_truncated",
            "only " + kept + " response tokens would remain (min_response_tokens " + s.minResponse() + "), "
                + ids.length + " tokens");
      }
    }
    // No EOS after a cut: the model must not learn to stop mid-answer.
    return row(r, splitIndex, Arrays.copyOf(ids, maxLength), Arrays.copyOf(labels, maxLength), maxLength, true,
        droppedMessages, null, null);
  }

  /** The record fields a tokenized row does not carry (all nullable): instruction, input, output, text, messages. */
  private static final boolean[] TEXTS = new boolean[Schemas.RECORD.size()];

  static {
    for (String field : new String[] {"instruction", "input", "output", "text", "messages"}) {
      TEXTS[Schemas.RECORD.fieldIndex(field)] = true;
    }
  }

  private static Row row(Row r, int splitIndex, long[] ids, long[] labels, int numTokens, boolean truncated,
      int droppedMessages, String reason, String detail) {
    int n = Schemas.RECORD.size();
    Object[] values = new Object[TokenizeStage.WORK.size()];
    for (int i = 0; i < n; i++) {
      // A tokenized row keeps its provenance only: its texts are read again for dropped rows alone, and
      // would otherwise fill the stage's cache (every record's texts beside its token ids) for nothing.
      values[i] = reason == null && TEXTS[i] ? null : r.get(i);
    }
    values[n] = r.getString(splitIndex);
    if (reason == null) {
      // Primitive arrays: the row encoder copies them into Spark's array format without boxing.
      int[] idInts = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        idInts[i] = (int) ids[i];
      }
      values[n + 1] = idInts;
      values[n + 2] = labels;
    }
    values[n + 3] = numTokens;
    values[n + 4] = truncated;
    values[n + 5] = droppedMessages;
    values[n + 6] = reason;
    values[n + 7] = detail;
    return RowFactory.create(values);
  }
}
