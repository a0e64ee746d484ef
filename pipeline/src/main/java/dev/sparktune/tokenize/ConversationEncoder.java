package dev.sparktune.tokenize;

import dev.sparktune.core.ChatMessage;
import java.util.ArrayList;
import java.util.List;

/**
 * Tokenizes a conversation under a chat template, dropping its oldest exchanges while it is longer
 * than max_length (when asked to): an exchange is a user message and the messages up to the next
 * user message; a leading system message is always kept, and the last exchange is never dropped (a
 * conversation still too long is then cut or dropped like any example).
 */
final class ConversationEncoder {
  /** The example, how many messages were dropped, or why the conversation was rejected. */
  record Result(Tokenization.Example example, int droppedMessages, String reason, String detail) {}

  private final ChatTemplate template;
  private final Tokenization tokenization;
  private final int maxLength;
  private final boolean dropOldest;

  ConversationEncoder(ChatTemplate template, Tokenization tokenization, int maxLength, boolean dropOldest) {
    this.template = template;
    this.tokenization = tokenization;
    this.maxLength = maxLength;
    this.dropOldest = dropOldest;
  }

  /**
   * {@link #encode} for many: every conversation rendered, all encoded in one batched tokenizer
   * call; only those over max_length go round again, one by one, losing exchanges.
   */
  List<Result> encodeAll(List<List<ChatMessage>> conversations) {
    Result[] out = new Result[conversations.size()];
    List<ChatTemplate.Rendered> rendered = new ArrayList<>();
    List<Integer> at = new ArrayList<>();
    for (int i = 0; i < out.length; i++) {
      try {
        ChatTemplate.Rendered r = template.renderForTraining(conversations.get(i));
        if (r.trained().isEmpty()) {
          out[i] = noAnswer(conversations.get(i).size(), 0);
        } else {
          rendered.add(r);
          at.add(i);
        }
      } catch (ChatTemplateException e) {
        out[i] = new Result(null, 0, "chat_template", e.getMessage());
      }
    }
    List<Tokenization.Example> encoded = tokenization.conversations(rendered);
    for (int k = 0; k < encoded.size(); k++) {
      int i = at.get(k);
      Tokenization.Example e = encoded.get(k);
      boolean fits = e.inputIds().length <= maxLength;
      out[i] = fits || !dropOldest || withoutFirstExchange(conversations.get(i)) == null ? new Result(e, 0, null, null)
          : encode(conversations.get(i));
    }
    return java.util.Arrays.asList(out);
  }

  private static Result noAnswer(int messages, int dropped) {
    return new Result(null, dropped, "no_assistant_turn", "a conversation without an assistant message has nothing"
        + " to train on (" + messages + " messages)");
  }

  Result encode(List<ChatMessage> messages) {
    List<ChatMessage> kept = messages;
    int dropped = 0;
    while (true) {
      ChatTemplate.Rendered rendered;
      try {
        rendered = template.renderForTraining(kept);
      } catch (ChatTemplateException e) {
        return new Result(null, dropped, "chat_template", e.getMessage());
      }
      if (rendered.trained().isEmpty()) {
        return noAnswer(kept.size(), dropped);
      }
      Tokenization.Example example = tokenization.conversation(rendered);
      if (example.inputIds().length <= maxLength || !dropOldest) {
        return new Result(example, dropped, null, null);
      }
      List<ChatMessage> shorter = withoutFirstExchange(kept);
      if (shorter == null) {
        return new Result(example, dropped, null, null);
      }
      dropped += kept.size() - shorter.size();
      kept = shorter;
    }
  }

  /** The conversation without its first exchange, or null when it has only one. */
  static List<ChatMessage> withoutFirstExchange(List<ChatMessage> messages) {
    int from = !messages.isEmpty() && "system".equals(messages.get(0).role()) ? 1 : 0;
    int firstUser = -1;
    int nextUser = -1;
    for (int i = from; i < messages.size(); i++) {
      if ("user".equals(messages.get(i).role())) {
        if (firstUser < 0) {
          firstUser = i;
        } else {
          nextUser = i;
          break;
        }
      }
    }
    if (nextUser < 0) {
      return null;
    }
    List<ChatMessage> out = new ArrayList<>(messages.subList(0, from));
    out.addAll(messages.subList(nextUser, messages.size()));
    return out;
  }
}
