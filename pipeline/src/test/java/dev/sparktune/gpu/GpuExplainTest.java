package dev.sparktune.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Reading the RAPIDS explain report (its format as the accelerator prints it), without the jar. */
class GpuExplainTest {
  static final String REPORT = """
      *Exec <ProjectExec> will run on GPU
        *Exec <FilterExec> will run on GPU
          !Exec <ProjectExec> cannot run on GPU because not all expressions can be replaced
            @Expression <AttributeReference> id could run on GPU
            @Expression <Alias> UDF(text) AS text could run on GPU
              !Expression <ScalaUDF> UDF(text) cannot run on GPU because neither UDF implemented by class X provides a GPU implementation
                @Expression <AttributeReference> text could run on GPU
            !Exec <ProjectExec> cannot run on GPU because not all expressions can be replaced
              @Expression <Alias> regexp_replace(text, \\s+$, , 1) AS text could run on GPU
                !Expression <RegExpReplace> regexp_replace(text, \\s+$, , 1) cannot run on GPU because End of line/string anchor is not supported
              ! <MapPartitionsExec> cannot run on GPU because GPU does not currently support the operator class
                !Expression <AttributeReference> obj cannot run on GPU because expression AttributeReference obj produces an unsupported type
                *Exec <FileSourceScanExec> will run on GPU
      """;

  @Test
  void fallbacksAreFoundWithTheirCausesAndJudged() {
    List<GpuExplain.Fallback> f = GpuExplain.fallbacks(REPORT);
    assertEquals(3, f.size());
    assertEquals("ProjectExec", f.get(0).exec());
    assertEquals(Set.of("ScalaUDF"), f.get(0).causes(), "the child projection's causes are not this one's");
    assertNotNull(f.get(0).expected(), "a UDF-only projection is an expected fallback");
    assertEquals(Set.of("RegExpReplace"), f.get(1).causes());
    assertNull(f.get(1).expected(), "a regex the GPU cannot run is not expected");
    assertEquals("MapPartitionsExec", f.get(2).exec());
    assertNotNull(f.get(2).expected(), "typed mapPartitions (the tokenizer) is expected");
  }
}
