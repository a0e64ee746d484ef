package dev.sparktune.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.Map;

/**
 * A BPE model's merges, and the merge loop of Hugging Face tokenizers' {@code Word::merge_all}
 * without dropout: a min-heap of (rank, position) over adjacent pairs; a popped pair whose symbols
 * have changed since (its left one merged away, or now a pair with another result) is skipped; a
 * merge pushes the new pairs on its left and right. The same merges in the same order, hence the
 * same ids. Pairs are keys in an open-addressing table of longs (left id, right id).
 */
final class BpeMerges {
  private final long[] keys;
  private final int[] ranks;
  private final int[] results;
  private final int mask;

  private BpeMerges(int capacity) {
    keys = new long[capacity];
    Arrays.fill(keys, -1L);
    ranks = new int[capacity];
    results = new int[capacity];
    mask = capacity - 1;
  }

  /**
   * The merges of a tokenizer.json model ({@code "a b"} strings or {@code ["a", "b"]} pairs); a later
   * merge of the same pair replaces an earlier one, as the library's map does. Null when a merge
   * names a symbol, or makes one, that is not in the vocabulary (the library refuses such a file).
   */
  static BpeMerges of(JsonNode merges, Map<String, Integer> vocab) {
    BpeMerges out = new BpeMerges(Integer.highestOneBit(Math.max(4, merges.size() * 3)) * 2);
    int rank = 0;
    for (JsonNode m : merges) {
      String a;
      String b;
      if (m.isArray() && m.size() == 2) {
        a = m.get(0).asText();
        b = m.get(1).asText();
      } else {
        String s = m.asText();
        int space = s.indexOf(' ');
        if (space < 0 || s.indexOf(' ', space + 1) >= 0) {
          return null;
        }
        a = s.substring(0, space);
        b = s.substring(space + 1);
      }
      Integer left = vocab.get(a);
      Integer right = vocab.get(b);
      Integer result = vocab.get(a + b);
      if (left == null || right == null || result == null) {
        return null;
      }
      out.put(key(left, right), rank++, result);
    }
    return out;
  }

  private static long key(int left, int right) {
    return (long) left << 32 | right & 0xFFFFFFFFL;
  }

  private void put(long key, int rank, int result) {
    int slot = slot(key);
    keys[slot] = key;
    ranks[slot] = rank;
    results[slot] = result;
  }

  /** The table slot of {@code key}: where it is, or the empty one where it would go. */
  private int slot(long key) {
    int h = (int) ((key * 0x9E3779B97F4A7C15L) >>> 33) & mask;
    while (keys[h] != -1L && keys[h] != key) {
      h = (h + 1) & mask;
    }
    return h;
  }

  /** The symbols' ids after every merge, in order (a new array; {@code symbols} is changed). */
  int[] apply(int[] symbols) {
    int n = symbols.length;
    if (n < 2) {
      return symbols.clone();
    }
    int[] next = new int[n];
    int[] prev = new int[n];
    boolean[] gone = new boolean[n];
    for (int i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    Heap heap = new Heap(n);
    for (int i = 0; i + 1 < n; i++) {
      push(heap, symbols, i, i + 1);
    }
    int left = n;
    while (heap.size > 0) {
      long top = heap.pop();
      int pos = (int) (top & 0xFFFFFFFFL);
      int result = heap.lastResult;
      if (gone[pos] || next[pos] < 0) {
        continue;
      }
      int right = next[pos];
      int slot = slot(key(symbols[pos], symbols[right]));
      if (keys[slot] == -1L || results[slot] != result) {
        continue;
      }
      symbols[pos] = result;
      gone[right] = true;
      left--;
      next[pos] = next[right];
      if (next[right] >= 0) {
        prev[next[right]] = pos;
      }
      if (prev[pos] >= 0) {
        push(heap, symbols, prev[pos], pos);
      }
      if (next[pos] >= 0) {
        push(heap, symbols, pos, next[pos]);
      }
    }
    int[] out = new int[left];
    for (int i = 0, k = 0; i < n; i++) {
      if (!gone[i]) {
        out[k++] = symbols[i];
      }
    }
    return out;
  }

  private void push(Heap heap, int[] symbols, int pos, int right) {
    int slot = slot(key(symbols[pos], symbols[right]));
    if (keys[slot] != -1L) {
      heap.push((long) ranks[slot] << 32 | pos, results[slot]);
    }
  }

  /** A binary min-heap of (rank, position) keys, each with the id its merge makes. */
  private static final class Heap {
    long[] keys;
    int[] results;
    int size;
    int lastResult;

    Heap(int capacity) {
      keys = new long[Math.max(4, capacity)];
      results = new int[keys.length];
    }

    void push(long key, int result) {
      if (size == keys.length) {
        keys = Arrays.copyOf(keys, size * 2);
        results = Arrays.copyOf(results, size * 2);
      }
      int i = size++;
      while (i > 0) {
        int parent = (i - 1) >>> 1;
        if (keys[parent] <= key) {
          break;
        }
        keys[i] = keys[parent];
        results[i] = results[parent];
        i = parent;
      }
      keys[i] = key;
      results[i] = result;
    }

    /** Removes the smallest key and returns it; its result is then {@link #lastResult}. */
    long pop() {
      long top = keys[0];
      lastResult = results[0];
      long key = keys[--size];
      int result = results[size];
      int i = 0;
      while (true) {
        int child = 2 * i + 1;
        if (child >= size) {
          break;
        }
        if (child + 1 < size && keys[child + 1] < keys[child]) {
          child++;
        }
        if (keys[child] >= key) {
          break;
        }
        keys[i] = keys[child];
        results[i] = results[child];
        i = child;
      }
      keys[i] = key;
      results[i] = result;
      return top;
    }
  }
}
