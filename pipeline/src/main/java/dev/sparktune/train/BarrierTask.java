package dev.sparktune.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.collective.Collective;
import dev.sparktune.collective.TcpRing;
import dev.sparktune.config.TrainConfig;
import dev.sparktune.core.HadoopConf;
import dev.sparktune.core.KillPoints;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.sql.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/**
 * One training task of the train stage's barrier stage (rank = partition id): loads the base model
 * and the tokenized splits, meets the other ranks (each one's address, rank 0's resume point) and
 * joins their ring, runs the {@link Trainer}, and on rank 0 writes the sample generations and returns
 * the metrics as rows. Serializable; holds no stage.
 */
final class BarrierTask extends AbstractFunction1<scala.collection.Iterator<Long>, scala.collection.Iterator<Row>>
    implements Serializable {
  private static final Logger LOG = LoggerFactory.getLogger(TrainStage.class);

  /**
   * Where the task reads and writes: the dataset and the tokenizer as Hadoop paths, the others as
   * local paths.
   *
   * @param tokenizer the tokenizer.json that decodes the sample generations; null: no samples
   * @param runDir the run directory every rank sees, committed into the stage's output at the end
   */
  record Locations(String dataset, String model, String tokenizer, String runDir) implements Serializable {}

  private final TrainConfig config;
  private final boolean fresh;
  private final Locations at;
  private final HadoopConf conf;
  private final boolean loopback;
  private final StepListener listener;

  /**
   * @param fresh start over in the first attempt (a retried attempt always resumes)
   * @param loopback the ranks meet on the loopback address (local mode)
   */
  BarrierTask(TrainConfig config, boolean fresh, Locations at, HadoopConf conf, boolean loopback,
      StepListener listener) {
    this.config = config;
    this.fresh = fresh;
    this.at = at;
    this.conf = conf;
    this.loopback = loopback;
    this.listener = listener;
  }

  @Override
  public scala.collection.Iterator<Row> apply(scala.collection.Iterator<Long> ignored) {
    try {
      return CollectionConverters.asScala(train(BarrierTaskContext.get()).iterator());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private List<Row> train(BarrierTaskContext ctx) throws IOException {
    int rank = ctx.partitionId();
    int size = ctx.getTaskInfos().length;
    int attempt = ctx.stageAttemptNumber();
    int threads = config.threads() > 0 ? config.threads()
        : Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, size));
    Torch.setThreads(threads);
    Placement placement = Placement.of(ctx);
    List<TrainData.Example> train = TrainData.read(new org.apache.hadoop.fs.Path(at.dataset()), "train", conf.get());
    List<TrainData.Example> validation = readOptional(at.dataset(), conf);
    Path out = Paths.get(at.runDir());
    DataType dtype = Precision.computeType(config.dtype(), placement.device());
    try (NDManager manager = Torch.newManager(placement.device());
        CausalLm lm = CausalLm.load(Paths.get(at.model()), dtype, config.baseQuantization(),
            config.quantizationSkipModules(), manager)) {
      InetAddress host = loopback ? InetAddress.getLoopbackAddress()
          : InetAddress.getByName(ctx.getTaskInfos()[rank].address().replaceAll(":\\d+$", ""));
      try (ServerSocket server = new ServerSocket(0, 16, host)) {
        // Rendezvous, once per attempt: each rank's address, and rank 0's resume point.
        int resume = rank == 0 ? (fresh && attempt == 0 ? -1 : Trainer.resumeStep(out)) : 0;
        String[] all = ctx.allGather(host.getHostAddress() + "|" + server.getLocalPort() + "|" + resume);
        int from = Integer.parseInt(all[0].split("\\|")[2]);
        try (Collective c = size > 1 ? ring(ctx, all, server) : Collective.single()) {
          Trainer trainer = new Trainer(TrainOptions.of(config), lm, train, validation, out, c);
          LOG.info("train: rank {}/{} on {} ({} thread(s)), attempt {}, {} train / {} validation examples, "
              + "{} steps{}", rank, size, placement.description(), threads, attempt, train.size(),
              validation.size(), trainer.totalSteps(), from > 0 ? ", resuming at step " + from : "");
          writeRank(out, ctx, placement, threads, host);
          trainer.run(from, s -> {
            listener.afterStep(rank, attempt, s);
            if (rank == 0) {
              KillPoints.reach("train:step-" + s.step());
            }
          });
        }
      }
      if (rank == 0) {
        writeSamples(lm, out, validation.isEmpty() ? train : validation);
      }
    }
    return rank == 0 ? new MetricsLog(out).read().stream().map(MetricsLog::toRow).toList() : List.of();
  }

  /** This rank's link to the others: a TCP ring through every rank's announced address. */
  private Collective ring(BarrierTaskContext ctx, String[] all, ServerSocket server) throws IOException {
    List<InetSocketAddress> peers = new ArrayList<>();
    for (String a : all) {
      String[] f = a.split("\\|");
      peers.add(new InetSocketAddress(f[0], Integer.parseInt(f[1])));
    }
    return TcpRing.connect(ctx.partitionId(), peers, server, "stage-" + ctx.stageId() + "-attempt-"
        + ctx.stageAttemptNumber(), config.collectiveTimeoutSeconds() * 1000);
  }

  /** Where each rank ran, committed with the outputs (ranks/rank-N.json). */
  private static void writeRank(Path out, BarrierTaskContext ctx, Placement placement, int threads,
      InetAddress host) throws IOException {
    int rank = ctx.partitionId();
    Path ranks = out.resolve("ranks");
    Files.createDirectories(ranks);
    Files.writeString(ranks.resolve("rank-" + rank + ".json"), new ObjectMapper().createObjectNode()
        .put("rank", rank).put("ranks", ctx.getTaskInfos().length).put("device", placement.description())
        .put("threads", threads).put("host", host.getHostAddress())
        .put("executor", ctx.getTaskInfos()[rank].address()).put("attempt", ctx.stageAttemptNumber())
        .toPrettyString());
  }

  /** The sample generations beside the adapter; a failure is logged, not fatal: the adapter is done. */
  private void writeSamples(CausalLm lm, Path out, List<TrainData.Example> prompts) {
    if (at.tokenizer() == null) {
      return;
    }
    org.apache.hadoop.fs.Path tokenizer = new org.apache.hadoop.fs.Path(at.tokenizer());
    try (InputStream in = tokenizer.getFileSystem(conf.get()).open(tokenizer)) {
      Samples.write(out, Samples.generate(lm, out.resolve("adapter"), prompts, in));
    } catch (IOException | RuntimeException e) {
      LOG.warn("train: no sample generations: {}", e.toString());
    }
  }

  private static List<TrainData.Example> readOptional(String dataset, HadoopConf conf) throws IOException {
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(dataset, "validation");
    if (!dir.getFileSystem(conf.get()).exists(dir)) {
      return List.of();
    }
    return TrainData.read(new org.apache.hadoop.fs.Path(dataset), "validation", conf.get());
  }
}
