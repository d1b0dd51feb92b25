#include "report/lab_report.h"

#include <gtest/gtest.h>

#include "report/mase_references.h"
#include "report/plot.h"
#include "support/output_checks.h"
#include "support/temp_dir.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace whittle::report {
namespace {

namespace fs = std::filesystem;
using test_support::contains;
using test_support::expect_contains_all;
using test_support::expect_contains_none;

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

// finished_run() without the sizes of the baseline and the quantized models,
// so that only the pruning rows have one left.
LabReport run_without_quantization_sizes() {
  LabReport report = finished_run();
  report.baseline_size.reset();
  for (auto& row : report.quantization) row.size.reset();
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
  expect_contains_all(
      markdown,
      {
          // Summary: whittle beside each reference, a column each.
          "| result | whittle | Mase tutorials | lab solution in Mase's history |\n",
          "| float32, LoRA fine-tuned and fused | 0.8801 | 0.82264 | — |\n",
          "| float32, before quantization | 0.8724 | 0.8282 | 0.81396 |\n",
          "| PTQ, 8 bits | 0.8696 | 0.8282 | 0.73324 |\n",
          "| QAT, 8 bits | 0.8710 | 0.84232 | 0.83276 |\n",
          "| pruned, L1-norm, sparsity 0.50, right after pruning | 0.8400 | 0.55512 | — |\n",
          "| pruned, L1-norm, sparsity 0.50, highest during fine-tuning | 0.8612 | — | — |\n",
          "| pruned, L1-norm, sparsity 0.50, after the last fine-tuning epoch | 0.8550 | 0.83624 | 0.81508 |\n",
          "| pruned, random, sparsity 0.50, after the last fine-tuning epoch | 0.5120 | — | 0.51492 |\n",
          // Every published number is listed with the file that shows it.
          "tutorial_4_pruning.ipynb: pruned, L1-norm, sparsity 0.50, right after pruning 0.55512; "
          "pruned, L1-norm, sparsity 0.50, after the last fine-tuning epoch 0.83624.",
          "tutorial_2_lora_finetune.ipynb: float32, LoRA fine-tuned and fused 0.82264.",
          "lab_1_task_2_results/pruning_results.json: pruned, random, sparsity 0.30",
          // Protocol: epochs and learning rate of each stage.
          "| stage | epochs | batch size | learning rate | weight decay | warm-up ratio | "
          "gradient clipping | trains | evaluated |\n",
          "| pruning fine-tune, each point | 5 | 8 | 5e-05 | 0 | 0 | 1 | all but the embeddings | "
          "right after pruning and after every epoch |\n",
          // LoRA.
          "| rank 8 on query and value | 0.8801 | 8,192 | 4,394,946 |\n",
          "Linear layers 128.0 KiB (1,048,576 bits), whole model 512.0 KiB",
          // Quantization: KiB of the Linears and of the model, compression against float32.
          "| width | frac width | PTQ accuracy | QAT accuracy | Mase tutorials, PTQ | lab solution in "
          "Mase's history, PTQ | Mase tutorials, QAT | lab solution in Mase's history, QAT | Linear "
          "layers (KiB) | whole model (KiB) | Linear compression |\n",
          "| 4 | 2 | 0.5000 | 0.5012 | — | 0.5 | — | 0.5 | 16.0 | 400.0 | 8.00× |\n",
          "| 8 | 4 | 0.8696 | 0.8710 | 0.8282 | 0.73324 | 0.84232 | 0.83276 | 32.0 | 416.0 | 4.00× |\n",
          "| 12 | 6 | 0.8721 | — | — | 0.80884 | — | 0.83472 | — | — | — |\n",
          // Pruning: right after pruning, the highest and the final accuracy, then the references'.
          "| method | sparsity | measured weight sparsity | after pruning | highest | final | Mase tutorials, "
          "after pruning | Mase tutorials, final | lab solution in Mase's history, final |",
          "| random | 0.50 | 0.5003 | 0.5000 | 0.5151 | 0.5120 | — | — | 0.51492 | 17.0 | 401.0 | 7.53× |\n",
          "| L1-norm | 0.50 | 0.5000 | 0.8400 | 0.8612 | 0.8550 | 0.55512 | 0.83624 | 0.81508 | 17.0 | 401.0 | 7.53× |\n",
          "| L1-norm | 0.90 | 0.9000 | 0.5000 | 0.6000 | 0.6000 | — | — | — | — | — | — |\n",
          // Stages, machine, configs, notes.
          "| finetune | skipped (already done) | 12.2 s |  |  | already done |\n",
          "| quantization sweep | ran | 3725.0 s (1:02:05) | 4100.0 s (1:08:20) | 7400.0 s (2:03:20) |  |\n",
          "| total |  | 3737.2 s (1:02:17) | 4112.2 s (1:08:32) | 7400.0 s (2:03:20) |  |\n",
          "- CPU: AMD <EPYC> & co\n",
          "- memory: 2.0 GiB\n",
          "```toml\n[default.config]\nname = \"integer\" # <not a tag>\n```\n",
          "Timings are noisy: the machine is shared.\n",
      });
}

TEST(LabReport, TablesLeaveOutTheReferenceAndSizeColumnsWhenThereAreNone) {
  test_support::TempDir run;
  LabReport report = run_without_quantization_sizes();
  report.references.clear();
  write_lab_report(report, run.path());
  std::string markdown = read_file(run.path() / "report.md");
  expect_contains_all(markdown, {"| result | whittle |\n", "| float32, before quantization | 0.8724 |\n",
                                 "| width | frac width | PTQ accuracy | QAT accuracy |\n",
                                 "| 8 | 4 | 0.8696 | 0.8710 |\n",
                                 // Pruning rows still have sizes, but no baseline to compare them with.
                                 "| random | 0.50 | 0.5003 | 0.5000 | 0.5151 | 0.5120 | 17.0 | 401.0 |\n",
                                 "| rank 8 on query and value | 0.8801 | 8,192 | 4,394,946 |\n"});
  EXPECT_FALSE(contains(markdown, "Mase"));
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
  // Nothing loaded from elsewhere, and no text left unescaped.
  expect_contains_none(html, {"http://", "https://", "src=", "<link", "<script", "@import", "<img", "<EPYC>"});
  expect_contains_all(html, {"id=\"figure1-gnuplot_canvas\"", "id=\"figure2-gnuplot_canvas\"",
                             "<title>Lab &lt;run&gt; &amp; results</title>", "<li>CPU: AMD &lt;EPYC&gt; &amp; co</li>",
                             "# &lt;not a tag&gt;", "<figcaption>Quantization &lt;PTQ&gt;</figcaption>",
                             "<td>0.8696</td>"});

  // Markdown links the PNGs and SVGs relative to the run directory.
  std::string markdown = read_file(run.path() / "report.md");
  expect_contains_all(markdown, {"![Quantization <PTQ>](quant/quantization.png)", "([SVG](quant/quantization.svg))",
                                 "](size.png)"});
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
  ASSERT_NO_FATAL_FAILURE(test_support::expect_figure_files(dir.path() / "size"));
  std::string script = read_file(dir.path() / "size.gp");
  expect_contains_all(script, {
                                  "set logscale x\n",
                                  // (KiB of the Linears, accuracy, label), smallest first.
                                  "128 0.8724 \"fp32\"\n",
                                  "16 0.5 \"w4\"\n32 0.86964 \"w8\"\nEOD\n",   // PTQ; w12 has no size
                                  "16 0.5012 \"w4\"\n32 0.871 \"w8\"\nEOD\n",  // QAT
                                  "17 0.5151 \"s0.5\"\nEOD\n",                 // random
                                  "17 0.8612 \"s0.5\"\nEOD\n",                 // L1-norm; s0.9 has no size
                                  "title \"float32 baseline\"",
                                  "title \"PTQ\"",
                                  "title \"QAT\"",
                                  "title \"pruned, random\"",
                                  "title \"pruned, L1-norm\"",
                              });
}

TEST(SizeFigure, WithoutAnySizeThereIsNothingToDraw) {
  test_support::TempDir dir;
  LabReport report = run_without_quantization_sizes();
  for (auto& row : report.pruning) row.size.reset();
  EXPECT_THROW(draw_size_figure(report, dir.path() / "size"), Error);
  EXPECT_FALSE(fs::exists(dir.path() / "size.gp"));
}

}  // namespace
}  // namespace whittle::report
