package dev.sparktune.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.junit.jupiter.api.Test;

/** Writes 2,500 examples (three record batches) and reads them back with Arrow Java's stream reader. */
class ArrowShardWriterTest {

  @Test
  void roundTripsAcrossBatches() throws IOException {
    List<ArrowShardWriter.Example> examples = new ArrayList<>();
    for (int i = 0; i < 2500; i++) {
      int n = 1 + i % 7;
      int[] ids = new int[n];
      int[] labels = new int[n];
      for (int k = 0; k < n; k++) {
        ids[k] = i + k;
        labels[k] = k < n / 2 ? -100 : i + k;
      }
      examples.add(new ArrowShardWriter.Example("id-" + i, ids, labels));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertEquals(2500, ArrowShardWriter.write(examples.iterator(), out));

    int row = 0;
    try (RootAllocator allocator = new RootAllocator();
        ArrowStreamReader reader = new ArrowStreamReader(new ByteArrayInputStream(out.toByteArray()), allocator)) {
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      assertEquals("Schema<input_ids: List<item: Int(32, true)>, attention_mask: List<item: Int(8, true)>, "
          + "labels: List<item: Int(64, true)>, id: Utf8, num_tokens: Int(32, true)>",
          root.getSchema().toString().replaceAll("\\(metadata: .*", "").strip());
      assertEquals(true, root.getSchema().getCustomMetadata().get("huggingface").contains("\"int32\""));
      int batches = 0;
      while (reader.loadNextBatch()) {
        batches++;
        ListVector ids = (ListVector) root.getVector("input_ids");
        ListVector mask = (ListVector) root.getVector("attention_mask");
        ListVector labels = (ListVector) root.getVector("labels");
        VarCharVector id = (VarCharVector) root.getVector("id");
        IntVector numTokens = (IntVector) root.getVector("num_tokens");
        for (int r = 0; r < root.getRowCount(); r++, row++) {
          ArrowShardWriter.Example e = examples.get(row);
          assertEquals(e.id(), new String(id.get(r), java.nio.charset.StandardCharsets.UTF_8));
          assertEquals(e.inputIds().length, numTokens.get(r));
          List<?> idValues = ids.getObject(r);
          List<?> labelValues = labels.getObject(r);
          List<?> maskValues = mask.getObject(r);
          for (int k = 0; k < e.inputIds().length; k++) {
            assertEquals(e.inputIds()[k], ((Number) idValues.get(k)).intValue());
            assertEquals((long) e.labels()[k], ((Number) labelValues.get(k)).longValue());
            assertEquals(1, ((Number) maskValues.get(k)).intValue());
          }
        }
      }
      assertEquals(3, batches);
    }
    assertEquals(2500, row);
  }
}
