package dev.sparktune.tokenize;

/**
 * A chat template that failed on a conversation: its own {@code raise_exception} message (e.g.
 * "Conversation roles must alternate user/assistant/user/assistant/..."), or why Jinja could not
 * render it.
 */
public final class ChatTemplateException extends Exception {
  private static final long serialVersionUID = 1L;

  public ChatTemplateException(String message) {
    super(message);
  }
}
