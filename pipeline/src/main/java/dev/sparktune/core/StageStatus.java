package dev.sparktune.core;

/**
 * Whether a stage's output is current, and why not.
 *
 * @param stage stage name
 * @param state up to date, stale, missing, or unknown (its inputs cannot be listed)
 * @param reason one line for people
 * @param expectedFingerprint what the fingerprint would be if the stage ran now (null when unknown)
 * @param manifest the manifest of the existing output, or null
 */
public record StageStatus(String stage, State state, String reason, String expectedFingerprint, Manifest manifest) {

  /** The possible states. */
  public enum State { UP_TO_DATE, STALE, MISSING, UNKNOWN }

  public boolean upToDate() {
    return state == State.UP_TO_DATE;
  }

  /** "up to date", "stale", ... as shown by {@code sparktune status}. */
  public String label() {
    return state.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
  }
}
