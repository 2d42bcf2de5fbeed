// Random llama weights: codes and values from a fast generator, block scales chosen so that every
// weight has a standard deviation of about 1/sqrt(fan-in).
#include "models/llama/random_llama.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/backend_factory.h"
#include "kernels/block_formats.h"
#include "kernels/fp16.h"
#include "kernels/status_macros.h"
#include "models/llama/llama_model.h"
#include "models/llama/llama_weights.h"
#include "models/tokenizer/bpe_tokenizer.h"
#include "models/tokenizer/byte_unicode.h"

namespace llmw {
namespace {

struct Shape {
  const char* name;
  LlamaConfig config;
  bool tied;
};

LlamaConfig Config(int64_t layers, int64_t hidden, int64_t heads, int64_t kv_heads,
                   int64_t head_dim, int64_t ffn, int64_t vocab, float rope_base) {
  LlamaConfig c;
  c.n_layers = layers;
  c.hidden = hidden;
  c.ffn_hidden = ffn;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.head_dim = head_dim;
  c.rope_dim = head_dim;
  c.rope_base = rope_base;
  c.rms_eps = 1e-5f;
  c.context_length = 8192;
  c.vocab_size = vocab;
  c.rope_pairing = RopePairing::kAdjacent;
  return c;
}

const std::vector<Shape>& Shapes() {
  static const auto* shapes = new std::vector<Shape>{
      {"tiny", Config(2, 64, 4, 2, 16, 128, 300, 10000.0f), true},
      {"smollm2-135m", Config(30, 576, 9, 3, 64, 1536, 49152, 100000.0f), true},
      {"llama3.2-1b", Config(16, 2048, 32, 8, 64, 8192, 128256, 500000.0f), true},
      {"llama3.1-8b", Config(32, 4096, 32, 8, 128, 14336, 128256, 500000.0f), false},
  };
  return *shapes;
}

// splitmix64: fast, and good enough for random weights.
struct Generator {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1).
  float Symmetric() {
    return static_cast<float>(static_cast<int64_t>(Next() >> 11)) * 0x1p-52f - 1;
  }
};

// What a format's K-quant type becomes when rows do not hold whole super-blocks (as GGUF
// converters do).
DType Fallback(DType type, int64_t row) {
  if (Traits(type).block_elems != kSuperBlockElems || row % kSuperBlockElems == 0) return type;
  switch (type) {
    case DType::kQ4_K:
      return DType::kQ5_0;
    case DType::kQ5_K:
      return DType::kQ5_1;
    case DType::kQ6_K:
      return DType::kQ8_0;
    default:
      return DType::kQ4_0;
  }
}

template <typename Block>
void ForEachBlock(uint8_t* bytes, int64_t n_blocks, Generator& g,
                  void (*set)(Block&, float, Generator&), float sigma) {
  for (int64_t b = 0; b < n_blocks; ++b) {
    set(reinterpret_cast<Block*>(bytes)[b], sigma, g);
  }
}

uint16_t Half(float v) { return Fp32ToFp16(v); }

// Fills `bytes` (`elems` elements of `type`) with random weights of standard deviation about
// `sigma`. Block formats: random codes, then the block scales (and minimums) that give `sigma`
// with a mean of about 0, from the codes' spread (uniform codes).
void FillRandom(DType type, uint8_t* bytes, int64_t elems, float sigma, uint64_t seed) {
  Generator g{seed};
  const float amplitude = sigma * std::sqrt(3.0f);  // uniform [-a, a] has deviation a / sqrt(3)
  switch (type) {
    case DType::kF32:
      for (int64_t i = 0; i < elems; ++i)
        reinterpret_cast<float*>(bytes)[i] = amplitude * g.Symmetric();
      return;
    case DType::kF16:
      for (int64_t i = 0; i < elems; ++i) {
        reinterpret_cast<uint16_t*>(bytes)[i] = Fp32ToFp16(amplitude * g.Symmetric());
      }
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < elems; ++i) {
        reinterpret_cast<uint16_t*>(bytes)[i] = Fp32ToBf16(amplitude * g.Symmetric());
      }
      return;
    default:
      break;
  }
  const DTypeTraits& t = Traits(type);
  const int64_t total = elems / t.block_elems * t.block_bytes;
  for (int64_t i = 0; i + 8 <= total; i += 8) {
    const uint64_t r = g.Next();
    std::memcpy(bytes + i, &r, 8);
  }
  for (int64_t i = total / 8 * 8; i < total; ++i) bytes[i] = static_cast<uint8_t>(g.Next());
  const int64_t n = elems / t.block_elems;
  // Deviation of the codes as each format reads them.
  switch (type) {
    case DType::kQ4_0:
      return ForEachBlock<BlockQ4_0>(
          bytes, n, g, [](BlockQ4_0& b, float s, Generator&) { b.d = Half(s / 4.61f); }, sigma);
    case DType::kQ4_1:
      return ForEachBlock<BlockQ4_1>(
          bytes, n, g,
          [](BlockQ4_1& b, float s, Generator&) {
            b.d = Half(s / 4.61f);
            b.m = Half(-7.5f * s / 4.61f);
          },
          sigma);
    case DType::kQ5_0:
      return ForEachBlock<BlockQ5_0>(
          bytes, n, g, [](BlockQ5_0& b, float s, Generator&) { b.d = Half(s / 9.23f); }, sigma);
    case DType::kQ5_1:
      return ForEachBlock<BlockQ5_1>(
          bytes, n, g,
          [](BlockQ5_1& b, float s, Generator&) {
            b.d = Half(s / 9.23f);
            b.m = Half(-15.5f * s / 9.23f);
          },
          sigma);
    case DType::kQ8_0:
      return ForEachBlock<BlockQ8_0>(
          bytes, n, g, [](BlockQ8_0& b, float s, Generator&) { b.d = Half(s / 73.9f); }, sigma);
    case DType::kQ2_K:  // d·scale·q − dmin·min, 4-bit scales and minimums, q in 0..3
      return ForEachBlock<BlockQ2_K>(
          bytes, n, g,
          [](BlockQ2_K& b, float s, Generator&) {
            b.d = Half(s / 8.4f);
            b.dmin = Half(1.5f * s / 8.4f);
          },
          sigma);
    case DType::kQ3_K:  // d·(scale − 32)·q, q in −4..3
      return ForEachBlock<BlockQ3_K>(
          bytes, n, g, [](BlockQ3_K& b, float s, Generator&) { b.d = Half(s / 41.0f); }, sigma);
    case DType::kQ4_K:  // 6-bit scales and minimums, q in 0..15
      return ForEachBlock<BlockQ4_K>(
          bytes, n, g,
          [](BlockQ4_K& b, float s, Generator&) {
            b.d = Half(s / 145.0f);
            b.dmin = Half(7.5f * s / 145.0f);
          },
          sigma);
    case DType::kQ5_K:  // q in 0..31
      return ForEachBlock<BlockQ5_K>(
          bytes, n, g,
          [](BlockQ5_K& b, float s, Generator&) {
            b.d = Half(s / 290.0f);
            b.dmin = Half(15.5f * s / 290.0f);
          },
          sigma);
    case DType::kQ6_K:  // int8 scales, q in −32..31
      return ForEachBlock<BlockQ6_K>(
          bytes, n, g, [](BlockQ6_K& b, float s, Generator&) { b.d = Half(s / 1369.0f); }, sigma);
    default:
      return;
  }
}

// The memory of every random tensor, kept by the model as its "checkpoint".
struct RandomStorage {
  std::vector<std::unique_ptr<uint8_t[]>> tensors;
};

struct Matrix {
  Tensor* tensor;
  DType dtype;
  int64_t rows, cols;
  float sigma;
  uint64_t seed;
};

std::unique_ptr<Tokenizer> ByteTokenizer(int64_t vocab) {
  BpeVocab v;
  for (int b = 0; b < 256; ++b) {
    std::string text;
    AppendBytesAsUnicode(std::string(1, static_cast<char>(b)), &text);
    v.tokens.push_back(text);
    v.types.push_back(TokenType::kNormal);
  }
  for (int64_t id = 256; id + 1 < vocab; ++id) {
    v.tokens.push_back(absl::StrCat("<unused", id, ">"));
    v.types.push_back(TokenType::kUnused);
  }
  v.tokens.push_back("<|end|>");
  v.types.push_back(TokenType::kControl);
  v.eos_id = static_cast<int32_t>(vocab - 1);
  absl::StatusOr<std::unique_ptr<BpeTokenizer>> tokenizer = BpeTokenizer::Create(std::move(v));
  return tokenizer.ok() ? std::move(*tokenizer) : nullptr;
}

}  // namespace

std::vector<std::string> RandomLlamaShapes() {
  std::vector<std::string> names;
  for (const Shape& s : Shapes()) names.push_back(s.name);
  return names;
}

absl::StatusOr<LlamaConfig> RandomLlamaConfig(std::string_view shape) {
  for (const Shape& s : Shapes()) {
    if (shape == s.name) return s.config;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model shape '", std::string(shape),
                   "'; known: ", absl::StrJoin(RandomLlamaShapes(), ", ")));
}

absl::StatusOr<std::unique_ptr<Model>> RandomLlama(std::string_view shape, DType dtype,
                                                   uint64_t seed, Backend& backend) {
  ASSIGN_OR_RETURN(const LlamaConfig c, RandomLlamaConfig(shape));
  const bool tied = std::find_if(Shapes().begin(), Shapes().end(), [&](const Shape& s) {
                      return shape == s.name;
                    })->tied;
  static constexpr DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0,
                                     DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0,
                                     DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K,
                                     DType::kQ6_K};
  if (std::find(std::begin(kTypes), std::end(kTypes), dtype) == std::end(kTypes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("random weights in ", std::string(DTypeName(dtype)), " are not supported"));
  }
  RETURN_IF_ERROR(CheckLlamaConfig(c, absl::StrCat("random ", std::string(shape))));

  LlamaWeights w;
  std::vector<Matrix> matrices;
  uint64_t next_seed = seed * 1000003u;
  const auto matrix = [&](Tensor* t, int64_t rows, int64_t cols) {
    const DType type = Fallback(dtype, cols);
    if (cols % Traits(type).block_elems != 0) {
      return absl::InvalidArgumentError(absl::StrCat("random ", std::string(shape), ": rows of ",
                                                     cols, " do not hold whole ",
                                                     std::string(DTypeName(type)), " blocks"));
    }
    matrices.push_back(
        {t, type, rows, cols, 1.0f / std::sqrt(static_cast<float>(cols)), ++next_seed});
    return absl::OkStatus();
  };
  const int64_t q_width = c.n_heads * c.head_dim, kv_width = c.n_kv_heads * c.head_dim;
  w.layers.resize(c.n_layers);
  RETURN_IF_ERROR(matrix(&w.token_embd, c.vocab_size, c.hidden));
  if (!tied) RETURN_IF_ERROR(matrix(&w.output, c.vocab_size, c.hidden));
  w.output_norm = w.host.AddF32(std::vector<float>(c.hidden, 1.0f));
  for (LlamaLayerWeights& l : w.layers) {
    l.attn_norm = w.host.AddF32(std::vector<float>(c.hidden, 1.0f));
    l.ffn_norm = w.host.AddF32(std::vector<float>(c.hidden, 1.0f));
    RETURN_IF_ERROR(matrix(&l.wq, q_width, c.hidden));
    RETURN_IF_ERROR(matrix(&l.wk, kv_width, c.hidden));
    RETURN_IF_ERROR(matrix(&l.wv, kv_width, c.hidden));
    RETURN_IF_ERROR(matrix(&l.wo, c.hidden, q_width));
    RETURN_IF_ERROR(matrix(&l.w_gate, c.ffn_hidden, c.hidden));
    RETURN_IF_ERROR(matrix(&l.w_up, c.ffn_hidden, c.hidden));
    RETURN_IF_ERROR(matrix(&l.w_down, c.hidden, c.ffn_hidden));
  }
  w.rope_inv_freq = w.host.AddF32(RopeInverseFrequencies(c.rope_dim, c.rope_base, {}));

  // Fill the matrices on every core; each has its own seed, so the result does not depend on
  // the split.
  auto storage = std::make_shared<RandomStorage>();
  for (Matrix& m : matrices) {
    const int64_t bytes = m.rows * RowBytes(m.dtype, m.cols);
    storage->tensors.push_back(std::make_unique<uint8_t[]>(static_cast<size_t>(bytes)));
    *m.tensor = Tensor(m.dtype, {m.rows, m.cols}, storage->tensors.back().get());
  }
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (size_t i = t; i < matrices.size(); i += threads) {
        const Matrix& m = matrices[i];
        FillRandom(m.dtype, m.tensor->data_as<uint8_t>(), m.rows * m.cols, m.sigma, m.seed);
      }
    });
  }
  for (std::thread& t : workers) t.join();
  if (tied) w.output = w.token_embd;

  ModelInfo info;
  info.name = absl::StrCat("random ", std::string(shape), " ", std::string(DTypeName(dtype)));
  info.architecture = "llama";
  info.quantization = std::string(DTypeName(dtype));
  info.context_length = c.context_length;
  info.vocab_size = c.vocab_size;
  for (const Matrix& m : matrices) info.n_params += m.rows * m.cols;
  std::unique_ptr<Tokenizer> tokenizer = ByteTokenizer(c.vocab_size);
  if (tokenizer == nullptr) return absl::InternalError("random model: tokenizer");
  return DecoderModel::Placed(std::make_unique<LlamaModel>(
      std::move(info), c, std::move(w), std::move(tokenizer), std::move(storage), backend));
}

absl::StatusOr<std::unique_ptr<ModelRunner>> RandomLlamaRunner(std::string_view shape,
                                                               std::string_view dtype_name,
                                                               const RunnerOptions& options) {
  const std::optional<DType> dtype = DTypeFromName(dtype_name);
  if (!dtype) {
    return absl::InvalidArgumentError(absl::StrCat("unknown weight type '", std::string(dtype_name),
                                                   "' (f32, f16, bf16, q8_0, q4_0, ...)"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, CreateBackend(options.backend));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, RandomLlama(shape, *dtype, 1, *backend));
  return ModelRunner::Create(std::move(backend), std::move(model), options);
}

}  // namespace llmw
