#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace whittle::model {

// The fields of a Hugging Face BERT config.json that the model uses.
struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 128;
  int64_t num_hidden_layers = 2;
  int64_t num_attention_heads = 2;
  int64_t intermediate_size = 512;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double layer_norm_eps = 1e-12;
  double initializer_range = 0.02;
  std::string hidden_act = "gelu";
  int64_t num_labels = 2;
  int64_t pad_token_id = 0;
  // Keys the file had that whittle does not interpret, kept so that saving
  // writes them back unchanged.
  nlohmann::json extra = nlohmann::json::object();
};

// Parses and validates (required keys present, sizes positive, hidden_size
// divisible by heads, hidden_act "gelu"). Throws whittle::Error naming the key.
BertConfig parse_bert_config(const nlohmann::json& json, const std::string& origin);
// The same from the text of a config.json; `origin` names it in errors.
BertConfig parse_bert_config_text(const std::string& text, const std::string& origin);
BertConfig load_bert_config(const std::filesystem::path& config_json);
// The parameters a classifier of this config holds (as a double: it is
// checked before it could overflow an integer).
double declared_parameter_count(const BertConfig& config);

// The range checks of parse_bert_config, for configs built or edited in code
// (e.g. after pruning heads). Throws whittle::Error naming the field.
void validate_bert_config(const BertConfig& config, const std::string& origin);
// Writes a config.json that transformers loads as BertForSequenceClassification:
// every BertConfig field, id2label/label2id and the kept unknown keys.
nlohmann::json to_json(const BertConfig& config);

}  // namespace whittle::model
