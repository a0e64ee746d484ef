package dev.sparktune.jobs;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The layering of docs/architecture.md, checked on the compiled main classes of both modules
 * (this module's test classpath holds the pipeline's classes and the CLI's):
 * {@code jobs} → stages, {@code train}, {@code report} → {@code core} → {@code config} → nothing of ours;
 * {@code train} → {@code model}, {@code lora}, {@code collective}; {@code model} stands alone.
 */
class ArchitectureTest {

  private static final String OURS = "dev.sparktune..";
  private static final String[] DATA_STAGES = {
      "dev.sparktune.ingest..", "dev.sparktune.clean..", "dev.sparktune.cluster..",
      "dev.sparktune.tokenize.."};

  private static JavaClasses classes;

  @BeforeAll
  static void importMainClasses() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.sparktune");
  }

  @Test
  void theImportSawBothModules() {
    // A rule over an empty or partial import passes vacuously: make sure both modules are in it.
    Assertions.assertTrue(classes.contain("dev.sparktune.jobs.Main"));
    Assertions.assertTrue(classes.contain("dev.sparktune.model.CausalLm"));
    Assertions.assertTrue(classes.contain("dev.sparktune.core.StageRunner"));
  }

  @Test
  void modelImportsNoOtherPackageOfOursAndNoSpark() {
    noClasses().that().resideInAPackage("dev.sparktune.model..")
        .should().dependOnClassesThat(resideInAPackage(OURS)
            .and(not(resideInAPackage("dev.sparktune.model.."))))
        .orShould().dependOnClassesThat().resideInAnyPackage("org.apache.spark..", "scala..")
        .because("the model is plain DJL: usable and testable without the pipeline or Spark")
        .check(classes);
  }

  @Test
  void configImportsNothingElseOfOurs() {
    noClasses().that().resideInAPackage("dev.sparktune.config..")
        .should().dependOnClassesThat(resideInAPackage(OURS)
            .and(not(resideInAPackage("dev.sparktune.config.."))))
        .because("a config record validates its own section without importing the stage, trainer "
            + "or model it configures")
        .check(classes);
  }

  @Test
  void coreImportsOnlyConfig() {
    noClasses().that().resideInAPackage("dev.sparktune.core..")
        .should().dependOnClassesThat(resideInAPackage(OURS)
            .and(not(resideInAnyPackage("dev.sparktune.core..", "dev.sparktune.config.."))))
        .because("core (the stage contract, the runner, manifests) sits under every stage")
        .check(classes);
  }

  @Test
  void dataStagesDoNotReachIntoTrainingOrTheReport() {
    noClasses().that().resideInAnyPackage(DATA_STAGES)
        .should().dependOnClassesThat().resideInAnyPackage("dev.sparktune.train..",
            "dev.sparktune.model..", "dev.sparktune.lora..", "dev.sparktune.collective..",
            "dev.sparktune.report..")
        .orShould().dependOnClassesThat().resideInAPackage("dev.sparktune")
        .because("the data stages run without a model, and the pipeline assembles them, not "
            + "the other way round")
        .check(classes);
  }

  @Test
  void onlyTheCliImportsTheCli() {
    noClasses().that().resideOutsideOfPackage("dev.sparktune.jobs..")
        .should().dependOnClassesThat().resideInAPackage("dev.sparktune.jobs..")
        .because("jobs holds thin entry points; the library never calls up into them")
        .check(classes);
  }

  @Test
  void noPackageCycles() {
    slices().matching("dev.sparktune.(*)..").should().beFreeOfCycles().check(classes);
  }
}
