package dev.sparktune.tokenize;

/**
 * A chat template that failed on a conversation: its own {@code raise_exception} message (e.g.
 * "Conversation roles must alternate user/assistant/user/assistant/..."), or why Jinja could not
 * render it.
 */
public final class ChatTemplateException extends Exception {
  private static final long serialVersionUID = 1L;

  private final boolean raised;

  public ChatTemplateException(String message) {
    this(message, false);
  }

  ChatTemplateException(String message, boolean raised) {
    super(message);
    this.raised = raised;
  }

  /** True when the template itself raised ({@code raise_exception}): the conversation, not the template, is at fault. */
  public boolean raised() {
    return raised;
  }
}
