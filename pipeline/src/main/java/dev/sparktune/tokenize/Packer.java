package dev.sparktune.tokenize;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Greedy packing in order: examples are appended to a row while it stays within max_length; each
 * example's position ids restart at 0, and the row's id lists the examples' ids.
 */
final class Packer implements Iterator<ArrowShardWriter.Example> {
  private final Iterator<ArrowShardWriter.Example> in;
  private final int maxLength;
  private ArrowShardWriter.Example carry;

  Packer(Iterator<ArrowShardWriter.Example> in, int maxLength) {
    this.in = in;
    this.maxLength = maxLength;
  }

  @Override
  public boolean hasNext() {
    return carry != null || in.hasNext();
  }

  @Override
  public ArrowShardWriter.Example next() {
    List<ArrowShardWriter.Example> row = new ArrayList<>();
    int length = 0;
    while (carry != null || in.hasNext()) {
      ArrowShardWriter.Example e = carry != null ? carry : in.next();
      carry = null;
      if (!row.isEmpty() && length + e.inputIds().length > maxLength) {
        carry = e;
        break;
      }
      row.add(e);
      length += e.inputIds().length;
    }
    int[] ids = new int[length];
    int[] labels = new int[length];
    int[] positions = new int[length];
    StringBuilder rowId = new StringBuilder();
    int at = 0;
    for (ArrowShardWriter.Example e : row) {
      System.arraycopy(e.inputIds(), 0, ids, at, e.inputIds().length);
      System.arraycopy(e.labels(), 0, labels, at, e.labels().length);
      for (int k = 0; k < e.inputIds().length; k++) {
        positions[at + k] = k;
      }
      at += e.inputIds().length;
      rowId.append(rowId.length() == 0 ? "" : ",").append(e.id());
    }
    return new ArrowShardWriter.Example(rowId.toString(), ids, labels, positions);
  }
}
