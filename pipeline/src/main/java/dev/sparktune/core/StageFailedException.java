package dev.sparktune.core;

/** A stage could not complete; its previous output and manifest are left as they were. */
public final class StageFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String stage;

  public StageFailedException(String stage, String message, Throwable cause) {
    super(stage + ": " + message, cause);
    this.stage = stage;
  }

  public String stage() {
    return stage;
  }
}
