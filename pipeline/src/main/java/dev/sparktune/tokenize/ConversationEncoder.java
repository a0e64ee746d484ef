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
        return new Result(null, dropped, "no_assistant_turn", "a conversation without an assistant message has"
            + " nothing to train on (" + kept.size() + " messages)");
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
