package dev.sparktune.config;

import static dev.sparktune.config.InvalidValue.orDefault;

import java.io.Serializable;

/**
 * Config of the tokenize stage: prompt template, loss masking, length limits, the train/validation
 * split, and the Hugging Face dataset shards.
 *
 * @param tokenizer the base model's tokenizer.json (any Hadoop path; read on the driver, shipped to tasks)
 * @param template {@code alpaca} (default), {@code chatml}, {@code llama3}, {@code model} (the base
 *     model's own Jinja chat template from chat_template.jinja or tokenizer_config.json beside the
 *     tokenizer, used for every record), or a custom template with {@code {instruction}},
 *     {@code {input}} and {@code {output}}. Conversations, and records with a system prompt, are
 *     rendered by a chat template: the model's, or the built-in name's Jinja equivalent
 * @param trainOnInputs when false (default) every prompt position has label -100
 * @param eosId end-of-sequence id appended to every example; default: read from tokenizer_config.json
 *     or special_tokens_map.json next to the tokenizer, else the tokenizer's {@code </s>},
 *     {@code <|endoftext|>}, {@code <|eot_id|>} or {@code <|im_end|>} token
 * @param maxLength maximum tokens per example, EOS included (default 2048)
 * @param overflow {@code truncate} (default: keep the start; the response must keep at least
 *     {@code min_response_tokens} or the example is dropped) or {@code drop}
 * @param minResponseTokens see overflow (default 16)
 * @param turnOverflow a conversation longer than max_length: {@code drop_oldest} (default) drops
 *     whole exchanges from the front, keeping the system prompt, until it fits (the last exchange is
 *     never dropped; what is still too long then goes by {@code overflow}); {@code truncate} goes by
 *     {@code overflow} at once (the end of the conversation is cut)
 * @param valRatio share of records in the validation split (default 0.01)
 * @param seed split seed (default 42): a record's split is a pure function of its id and this seed
 * @param valMax at most this many validation records (the rest go to train; default: no cap)
 * @param shardRecords records per Arrow shard (default 50,000)
 * @param packing concatenate examples (in id order, within a shard) into rows of up to max_length
 *     tokens, with {@code position_ids} restarting at 0 for each example so attention can be kept
 *     inside examples (default false)
 */
public record TokenizeConfig(String tokenizer, String template, Boolean trainOnInputs, Long eosId, Integer maxLength,
    Overflow overflow, Integer minResponseTokens, Double valRatio, Long seed, Integer valMax, Integer shardRecords,
    Boolean packing, TurnOverflow turnOverflow) implements Serializable {

  /** What to do with an example longer than max_length. */
  public enum Overflow { TRUNCATE, DROP }

  /** What to do first with a conversation longer than max_length. */
  public enum TurnOverflow { DROP_OLDEST, TRUNCATE }

  public TokenizeConfig {
    tokenizer = InvalidValue.required(tokenizer, "tokenizer");
    template = orDefault(template, "alpaca");
    try {
      TemplateName.of(template);
    } catch (IllegalArgumentException e) {
      throw new InvalidValue("template", e.getMessage());
    }
    trainOnInputs = orDefault(trainOnInputs, Boolean.FALSE);
    maxLength = orDefault(maxLength, 2048);
    overflow = orDefault(overflow, Overflow.TRUNCATE);
    minResponseTokens = orDefault(minResponseTokens, 16);
    valRatio = orDefault(valRatio, 0.01);
    if (valRatio < 0 || valRatio >= 1) {
      throw new InvalidValue("val_ratio", "must be in [0, 1)");
    }
    seed = orDefault(seed, 42L);
    shardRecords = orDefault(shardRecords, 50_000);
    packing = orDefault(packing, Boolean.FALSE);
    turnOverflow = orDefault(turnOverflow, TurnOverflow.DROP_OLDEST);
    if (maxLength < 2 || minResponseTokens < 0 || shardRecords < 1 || (valMax != null && valMax < 0)) {
      throw new InvalidValue(null, "max_length must be at least 2; min_response_tokens, val_max non-negative;"
          + " shard_records positive");
    }
  }
}
