#include "report/lab_report.h"

#include <gtest/gtest.h>

#include "report/mase_references.h"
#include "report/plot.h"
#include "support/temp_dir.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::report {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// Sizes chosen to be round in KiB: 1,048,576 bits are 128 KiB.
LabReport finished_run() {
  LabReport report;
  report.title = "Lab <run> & results";
  report.model = "BERT-Tiny from scratch";
  report.data = "IMDb test, 25,000 reviews";
  report.baseline_accuracy = 0.8724;
  report.baseline_size = ModelBits{1048576, 4194304};
  report.lora = LoraResult{"rank 8 on query and value", 0.8801, 8192, 4394946};
  report.quantization = {
      {4, 2, 0.5, 0.5012, ModelBits{131072, 3276800}},
      {8, 4, 0.86964, 0.871, ModelBits{262144, 3407872}},
      {12, 6, 0.8721, std::nullopt, std::nullopt},
  };
  report.pruning = {
      {"random", 0.5, 0.5, 0.5151, 0.512, 0.5003, ModelBits{139264, 3284992}},
      {"l1-norm", 0.5, 0.84, 0.8612, 0.855, 0.5, ModelBits{139264, 3284992}},
      {"l1-norm", 0.9, 0.5, 0.6, 0.6, 0.9, std::nullopt},
  };
  report.references = mase_references();
  report.protocol = {{"LoRA", 1, 8, 5e-5, 0.0, 0.0, 1.0, "the adapters and the classifier", "after every epoch"},
                     {"pruning fine-tune, each point", 5, 8, 5e-5, 0.0, 0.0, 1.0, "all but the embeddings",
                      "right after pruning and after every epoch"}};
  report.configs = {{"quantize.toml", "toml", "[default.config]\nname = \"integer\" # <not a tag>\n"}};
  // The sweep was resumed: more wall time over all runs than in its last, and
  // its points, two at a time, recorded more work than either.
  report.stages = {{"finetune", 12.25, false, "already done", std::nullopt, std::nullopt},
                   {"quantization sweep", 3725.0, true, "", 7400.0, 4100.0}};
  MachineDescription machine;
  machine.cpu_model = "AMD <EPYC> & co";
  machine.logical_cores = 2;
  machine.memory_bytes = 2LL * 1024 * 1024 * 1024;
  machine.os = "Debian GNU/Linux 12 (bookworm)";
  machine.libtorch_version = "1.13.0";
  machine.threads = 2;
  report.machine = machine;
  report.notes = {"Timings are noisy: the machine is shared."};
  return report;
}

void draw_quantization_figure(const fs::path& base) {
  LinePlot plot{"Quantization", "width", "accuracy", {{"PTQ", {{4, 0.5}, {8, 0.86964}}}}, {{"float32", 0.8724}}, {}};
  draw(plot, base);
}

TEST(LabReport, MarkdownHasTheTablesWithTheGivenNumbers) {
  test_support::TempDir run;
  LabReportFiles files = write_lab_report(finished_run(), run.path());
  EXPECT_EQ(files.markdown, run.path() / "report.md");
  std::string markdown = read_file(files.markdown);

  EXPECT_TRUE(markdown.starts_with("# Lab <run> & results\n"));
  // Summary: whittle beside each reference, a column each.
  EXPECT_TRUE(contains(markdown, "| result | whittle | Mase tutorials | lab solution in Mase's history |\n"));
  EXPECT_TRUE(contains(markdown, "| float32, LoRA fine-tuned and fused | 0.8801 | 0.82264 | — |\n"));
  EXPECT_TRUE(contains(markdown, "| float32, before quantization | 0.8724 | 0.8282 | 0.81396 |\n"));
  EXPECT_TRUE(contains(markdown, "| PTQ, 8 bits | 0.8696 | 0.8282 | 0.73324 |\n"));
  EXPECT_TRUE(contains(markdown, "| QAT, 8 bits | 0.8710 | 0.84232 | 0.83276 |\n"));
  EXPECT_TRUE(contains(markdown, "| pruned, L1-norm, sparsity 0.50, right after pruning | 0.8400 | 0.55512 | — |\n"));
  EXPECT_TRUE(contains(markdown, "| pruned, L1-norm, sparsity 0.50, highest during fine-tuning | 0.8612 | — | — |\n"));
  EXPECT_TRUE(
      contains(markdown, "| pruned, L1-norm, sparsity 0.50, after the last fine-tuning epoch | 0.8550 | 0.83624 | 0.81508 |\n"));
  EXPECT_TRUE(
      contains(markdown, "| pruned, random, sparsity 0.50, after the last fine-tuning epoch | 0.5120 | — | 0.51492 |\n"));
  // Every published number is listed with the file that shows it.
  EXPECT_TRUE(contains(markdown, "tutorial_4_pruning.ipynb: pruned, L1-norm, sparsity 0.50, right after pruning 0.55512; "
                                 "pruned, L1-norm, sparsity 0.50, after the last fine-tuning epoch 0.83624."));
  EXPECT_TRUE(contains(markdown, "tutorial_2_lora_finetune.ipynb: float32, LoRA fine-tuned and fused 0.82264."));
  EXPECT_TRUE(contains(markdown, "lab_1_task_2_results/pruning_results.json: pruned, random, sparsity 0.30"));
  // Protocol: epochs and learning rate of each stage.
  EXPECT_TRUE(contains(markdown, "| stage | epochs | batch size | learning rate | weight decay | warm-up ratio | "
                                 "gradient clipping | trains | evaluated |\n"));
  EXPECT_TRUE(contains(markdown, "| pruning fine-tune, each point | 5 | 8 | 5e-05 | 0 | 0 | 1 | all but the embeddings | "
                                 "right after pruning and after every epoch |\n"));
  // LoRA.
  EXPECT_TRUE(contains(markdown, "| rank 8 on query and value | 0.8801 | 8,192 | 4,394,946 |\n"));
  EXPECT_TRUE(contains(markdown, "Linear layers 128.0 KiB (1,048,576 bits), whole model 512.0 KiB"));
  // Quantization: KiB of the Linears and of the model, compression against float32.
  EXPECT_TRUE(contains(markdown,
                       "| width | frac width | PTQ accuracy | QAT accuracy | Mase tutorials, PTQ | lab solution in "
                       "Mase's history, PTQ | Mase tutorials, QAT | lab solution in Mase's history, QAT | Linear "
                       "layers (KiB) | whole model (KiB) | Linear compression |\n"));
  EXPECT_TRUE(contains(markdown, "| 4 | 2 | 0.5000 | 0.5012 | — | 0.5 | — | 0.5 | 16.0 | 400.0 | 8.00× |\n"));
  EXPECT_TRUE(
      contains(markdown, "| 8 | 4 | 0.8696 | 0.8710 | 0.8282 | 0.73324 | 0.84232 | 0.83276 | 32.0 | 416.0 | 4.00× |\n"));
  EXPECT_TRUE(contains(markdown, "| 12 | 6 | 0.8721 | — | — | 0.80884 | — | 0.83472 | — | — | — |\n"));
  // Pruning: right after pruning, the highest and the final accuracy, then the references'.
  EXPECT_TRUE(contains(markdown,
                       "| method | sparsity | measured weight sparsity | after pruning | highest | final | Mase tutorials, "
                       "after pruning | Mase tutorials, final | lab solution in Mase's history, final |"));
  EXPECT_TRUE(
      contains(markdown, "| random | 0.50 | 0.5003 | 0.5000 | 0.5151 | 0.5120 | — | — | 0.51492 | 17.0 | 401.0 | 7.53× |\n"));
  EXPECT_TRUE(contains(
      markdown, "| L1-norm | 0.50 | 0.5000 | 0.8400 | 0.8612 | 0.8550 | 0.55512 | 0.83624 | 0.81508 | 17.0 | 401.0 | 7.53× |\n"));
  EXPECT_TRUE(contains(markdown, "| L1-norm | 0.90 | 0.9000 | 0.5000 | 0.6000 | 0.6000 | — | — | — | — | — | — |\n"));
  // Stages, machine, configs, notes.
  EXPECT_TRUE(contains(markdown, "| finetune | skipped (already done) | 12.2 s |  |  | already done |\n"));
  EXPECT_TRUE(contains(markdown, "| quantization sweep | ran | 3725.0 s (1:02:05) | 4100.0 s (1:08:20) | 7400.0 s (2:03:20) |  |\n"));
  EXPECT_TRUE(contains(markdown, "| total |  | 3737.2 s (1:02:17) | 4112.2 s (1:08:32) | 7400.0 s (2:03:20) |  |\n"));
  EXPECT_TRUE(contains(markdown, "- CPU: AMD <EPYC> & co\n"));
  EXPECT_TRUE(contains(markdown, "- memory: 2.0 GiB\n"));
  EXPECT_TRUE(contains(markdown, "```toml\n[default.config]\nname = \"integer\" # <not a tag>\n```\n"));
  EXPECT_TRUE(contains(markdown, "Timings are noisy: the machine is shared.\n"));
}

TEST(LabReport, TablesLeaveOutTheReferenceAndSizeColumnsWhenThereAreNone) {
  test_support::TempDir run;
  LabReport report = finished_run();
  report.references.clear();
  report.baseline_size.reset();
  for (auto& row : report.quantization) row.size.reset();
  write_lab_report(report, run.path());
  std::string markdown = read_file(run.path() / "report.md");
  EXPECT_TRUE(contains(markdown, "| result | whittle |\n"));
  EXPECT_TRUE(contains(markdown, "| float32, before quantization | 0.8724 |\n"));
  EXPECT_TRUE(contains(markdown, "| width | frac width | PTQ accuracy | QAT accuracy |\n"));
  EXPECT_TRUE(contains(markdown, "| 8 | 4 | 0.8696 | 0.8710 |\n"));
  // Pruning rows still have sizes, but no baseline to compare them with.
  EXPECT_TRUE(contains(markdown, "| random | 0.50 | 0.5003 | 0.5000 | 0.5151 | 0.5120 | 17.0 | 401.0 |\n"));
  EXPECT_FALSE(contains(markdown, "Mase"));
  EXPECT_TRUE(contains(markdown, "| rank 8 on query and value | 0.8801 | 8,192 | 4,394,946 |\n"));
}

TEST(LabReport, HtmlIsSelfContainedWithTheFiguresInlineAndTextEscaped) {
  test_support::TempDir run;
  draw_quantization_figure(run.path() / "quant" / "quantization");
  LabReport report = finished_run();
  report.figures.push_back({"Quantization <PTQ>", "quant/quantization"});
  report.figures.push_back(draw_size_figure(report, run.path() / "size"));
  write_lab_report(report, run.path());

  std::string html = read_file(run.path() / "report.html");
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_EQ(count_of(html, "<svg"), 2u);
  EXPECT_EQ(count_of(html, "</svg>"), 2u);
  EXPECT_TRUE(contains(html, "id=\"figure1-gnuplot_canvas\""));
  EXPECT_TRUE(contains(html, "id=\"figure2-gnuplot_canvas\""));
  for (const char* external : {"http://", "https://", "src=", "<link", "<script", "@import", "<img"}) {
    EXPECT_FALSE(contains(html, external)) << external;
  }
  EXPECT_TRUE(contains(html, "<title>Lab &lt;run&gt; &amp; results</title>"));
  EXPECT_TRUE(contains(html, "<li>CPU: AMD &lt;EPYC&gt; &amp; co</li>"));
  EXPECT_TRUE(contains(html, "# &lt;not a tag&gt;"));
  EXPECT_TRUE(contains(html, "<figcaption>Quantization &lt;PTQ&gt;</figcaption>"));
  EXPECT_FALSE(contains(html, "<EPYC>"));
  EXPECT_TRUE(contains(html, "<td>0.8696</td>"));

  // Markdown links the PNGs and SVGs relative to the run directory.
  std::string markdown = read_file(run.path() / "report.md");
  EXPECT_TRUE(contains(markdown, "![Quantization <PTQ>](quant/quantization.png)"));
  EXPECT_TRUE(contains(markdown, "([SVG](quant/quantization.svg))"));
  EXPECT_TRUE(contains(markdown, "](size.png)"));
}

TEST(LabReport, AMissingFigureFileIsAnErrorNamingItAndNothingIsWritten) {
  test_support::TempDir run;
  LabReport report = finished_run();
  report.figures.push_back({"gone", "figures/gone"});
  try {
    write_lab_report(report, run.path());
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_TRUE(contains(error.what(), (run.path() / "figures" / "gone.png").string())) << error.what();
  }
  // A PNG without its SVG: the SVG is named.
  write_file_atomically(run.path() / "figures" / "gone.png", "png");
  try {
    write_lab_report(report, run.path());
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_TRUE(contains(error.what(), (run.path() / "figures" / "gone.svg").string())) << error.what();
  }
  EXPECT_FALSE(fs::exists(run.path() / "report.md"));
  EXPECT_FALSE(fs::exists(run.path() / "report.html"));
}

TEST(SizeFigure, DrawsOneLabelledSeriesPerFamilyAgainstKibOfTheLinears) {
  test_support::TempDir dir;
  Figure figure = draw_size_figure(finished_run(), dir.path() / "size");
  EXPECT_EQ(figure.base, dir.path() / "size");
  for (const char* extension : {".png", ".svg"}) {
    fs::path file = dir.path() / (std::string("size") + extension);
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_GT(fs::file_size(file), 0u) << file;
  }
  std::string script = read_file(dir.path() / "size.gp");
  EXPECT_TRUE(contains(script, "set logscale x\n"));
  // (KiB of the Linears, accuracy, label), smallest first.
  EXPECT_TRUE(contains(script, "128 0.8724 \"fp32\"\n"));
  EXPECT_TRUE(contains(script, "16 0.5 \"w4\"\n32 0.86964 \"w8\"\nEOD\n"));    // PTQ; w12 has no size
  EXPECT_TRUE(contains(script, "16 0.5012 \"w4\"\n32 0.871 \"w8\"\nEOD\n"));   // QAT
  EXPECT_TRUE(contains(script, "17 0.5151 \"s0.5\"\nEOD\n"));                  // random
  EXPECT_TRUE(contains(script, "17 0.8612 \"s0.5\"\nEOD\n"));                  // L1-norm; s0.9 has no size
  for (const char* title : {"\"float32 baseline\"", "\"PTQ\"", "\"QAT\"", "\"pruned, random\"", "\"pruned, L1-norm\""}) {
    EXPECT_TRUE(contains(script, std::string("title ") + title)) << title;
  }
}

TEST(SizeFigure, WithoutAnySizeThereIsNothingToDraw) {
  test_support::TempDir dir;
  LabReport report = finished_run();
  report.baseline_size.reset();
  for (auto& row : report.quantization) row.size.reset();
  for (auto& row : report.pruning) row.size.reset();
  EXPECT_THROW(draw_size_figure(report, dir.path() / "size"), Error);
  EXPECT_FALSE(fs::exists(dir.path() / "size.gp"));
}

}  // namespace
}  // namespace whittle::report
