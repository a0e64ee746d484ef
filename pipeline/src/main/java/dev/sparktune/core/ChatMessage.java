package dev.sparktune.core;

import java.io.Serializable;

/**
 * One message of a conversation record: {@code role} is {@code system}, {@code user} or
 * {@code assistant} (ShareGPT's {@code human}/{@code gpt} are mapped at ingest).
 */
public record ChatMessage(String role, String content) implements Serializable {}
