import dev.sparktune.train.StepBench;

/**
 * `bench model` for the lent-GPU kit (../shared/gpu), which carries the pipeline jar but not the CLI:
 *   mvn -B -ntp -DskipTests package && bash ../shared/gpu/prepare.sh
 *   javac -cp ".gpu/jars/*" -d .gpu/classes bench/GpuStepBench.java
 *   (device run, carry [".gpu"]) bash .gpu/run_java.sh GpuStepBench gpu float16 4 2048 5 false 2048 22 32 4 5632 32000
 * Arguments: device dtype batch seq steps gradient-checkpointing hidden layers heads kv-heads intermediate vocab
 * [base-quantization none|int8|nf4]
 * (TinyLlama-1.1B shape above; the 58M default is 512 8 8 8 1408 32000).
 */
public class GpuStepBench {
  public static void main(String[] a) {
    new StepBench(a[0], a[1], Integer.parseInt(a[2]), Integer.parseInt(a[3]), Integer.parseInt(a[4]),
        Boolean.parseBoolean(a[5]), "fused", Integer.parseInt(a[6]), Integer.parseInt(a[7]),
        Integer.parseInt(a[8]), Integer.parseInt(a[9]), Integer.parseInt(a[10]), Integer.parseInt(a[11]), 16,
        a.length > 12 ? a[12] : "none")
        .run(new int[] {1}, System.out);
  }
}
