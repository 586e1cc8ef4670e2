// The reference runtime's five-function C interface (mtp_flora.h) on llama.cpp, for a directory written by
// `mtp export-model DIR --format gguf`. Each prompt is matched to its instruction by the input lines of the
// runtime spec (runtime.json, as training compiled it; prompts.json only says where each grammar is), then
// decoded greedily under that instruction's GBNF grammar until the end-of-generation token, as
// bench/gguf_run.cpp does. No exception or failure crosses the C boundary: each is logged and the call
// returns safely (NULL handle, empty answer).
#define FLORA_BUILD
#include "mtp_flora.h"

#include "llama.h"
#include "nlohmann/json.hpp"

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#if defined(__linux__)
#include <sched.h>
#endif
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// --- log ------------------------------------------------------------------------------------------------------
std::mutex g_log_mutex;
FILE* g_log_file = nullptr;
std::atomic<int> g_verbose_models{0};  // llama.cpp's own info messages pass while a verbose model is loaded

void write_log(const char* text) {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    fputs(text, stderr);
    fflush(stderr);
    if (g_log_file) {
        fputs(text, g_log_file);
        fflush(g_log_file);
    }
}

void log_line(const char* level, const char* format, ...) {
    char message[8192];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    std::string line = std::string("[flora] ") + level + ": " + message + "\n";
    write_log(line.c_str());
}

#define LOG_ERROR(...) log_line("error", __VA_ARGS__)
#define LOG_INFO(...) log_line("info", __VA_ARGS__)

// A prompt or answer in one log line: newlines shown as \n, cut after `limit` bytes.
std::string shown(const std::string& text, size_t limit = 300) {
    std::string out;
    for (size_t i = 0; i < text.size() && i < limit; ++i) out += text[i] == '\n' ? std::string("\\n") : std::string(1, text[i]);
    if (text.size() > limit) out += "...";
    return out;
}

// --- instructions: their input lines as pieces to match a prompt against ------------------------------------------
enum class Slot { Literal, Text, Number, NumberList };

struct Piece {
    Slot slot;
    std::string literal;
};

struct Instruction {
    std::string name;
    std::vector<Piece> pieces;        // the input lines and the final newline
    std::vector<Piece> short_pieces;  // the same without the response-set line before <RUN> (empty: none)
    std::string response_line;        // that line
    std::string grammar;
};

void add_literal(std::vector<Piece>& pieces, const std::string& text) {
    if (text.empty()) return;
    if (!pieces.empty() && pieces.back().slot == Slot::Literal) pieces.back().literal += text;
    else pieces.push_back({Slot::Literal, text});
}

// "<string>" is a text slot; "<num_MIN_MAX>" a number, "<num_MIN_MAX_LEN>" a list of numbers (the runtime spec's placeholders).
void add_line(std::vector<Piece>& pieces, const std::string& line) {
    size_t pos = 0;
    while (pos < line.size()) {
        size_t text = line.find("<string>", pos), num = line.find("<num_", pos);
        size_t close = num == std::string::npos ? std::string::npos : line.find('>', num);
        if (close != std::string::npos && line.find('<', num + 1) < close) close = std::string::npos;
        if (text == std::string::npos && close == std::string::npos) break;
        if (text != std::string::npos && (close == std::string::npos || text < num)) {
            add_literal(pieces, line.substr(pos, text - pos));
            pieces.push_back({Slot::Text, ""});
            pos = text + 8;
        } else {
            std::string inner = line.substr(num + 5, close - num - 5);  // MIN_MAX or MIN_MAX_LEN
            size_t underscores = 0;
            for (char c : inner) underscores += c == '_';
            add_literal(pieces, line.substr(pos, num - pos));
            pieces.push_back({underscores >= 2 ? Slot::NumberList : Slot::Number, ""});
            pos = close + 1;
        }
    }
    add_literal(pieces, line.substr(pos));
}

bool number_char(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

// Where a slot starting at `pos` may end: every end for text (not past the line), the number's characters otherwise.
bool slot_accepts(Slot slot, const std::string& s, size_t begin, size_t end) {
    if (slot == Slot::Text) return true;
    if (end == begin) return false;
    if (slot == Slot::Number) {
        for (size_t i = begin; i < end; ++i)
            if (!number_char(s[i])) return false;
        return true;
    }
    if (s[begin] != '[' || s[end - 1] != ']' || end - begin < 2) return false;
    for (size_t i = begin + 1; i + 1 < end; ++i)
        if (!number_char(s[i]) && s[i] != ',' && s[i] != ' ') return false;
    return true;
}

bool matches(const std::vector<Piece>& pieces, size_t i, const std::string& s, size_t pos) {
    if (i == pieces.size()) return pos == s.size();
    const Piece& piece = pieces[i];
    if (piece.slot == Slot::Literal)
        return s.compare(pos, piece.literal.size(), piece.literal) == 0 && matches(pieces, i + 1, s, pos + piece.literal.size());
    size_t line_end = s.find('\n', pos);
    if (line_end == std::string::npos) line_end = s.size();
    for (size_t end = pos; end <= line_end; ++end)
        if (slot_accepts(piece.slot, s, pos, end) && matches(pieces, i + 1, s, end)) return true;
    return false;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return false;
    std::ostringstream text;
    text << file.rdbuf();
    out = text.str();
    return true;
}

bool file_exists(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    return file.good();
}

int thread_count() {
    if (const char* value = std::getenv("MTP_FLORA_THREADS")) {
        int n = std::atoi(value);
        if (n > 0) return n;
    }
    int available = static_cast<int>(std::thread::hardware_concurrency());
#if defined(__linux__)
    cpu_set_t cpus;  // the cores this process may run on (a container's share), not every core of the machine
    if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) available = CPU_COUNT(&cpus);
#endif
    return available <= 0 ? 4 : (available < 4 ? available : 4);
}

// llama.cpp's messages: errors always, the rest while a verbose model is loaded; a continuation (the loader's
// progress dots) goes with the message it continues.
void llama_log(ggml_log_level level, const char* text, void*) {
    static std::atomic<int> last{GGML_LOG_LEVEL_INFO};
    if (level == GGML_LOG_LEVEL_CONT) level = static_cast<ggml_log_level>(last.load());
    else last = level;
    if (level == GGML_LOG_LEVEL_ERROR || (g_verbose_models.load() > 0 && level != GGML_LOG_LEVEL_DEBUG)) write_log(text);
}

std::once_flag g_backend_once;
std::mutex g_handles_mutex;
std::set<NLM*> g_handles;

bool live(NLM* nlm) {
    std::lock_guard<std::mutex> lock(g_handles_mutex);
    return g_handles.count(nlm) != 0;
}

constexpr int kMaxContext = 4096;      // tokens of prompt and answer together, at most (less if the model has less)
constexpr int kMaxNewTokens = 512;     // tokens of one answer, at most

}  // namespace

struct NLM {
    std::mutex mutex;
    std::string dir;
    bool verbose = false;
    bool add_bos = false;
    llama_model* model = nullptr;
    llama_context* context = nullptr;
    const llama_vocab* vocab = nullptr;
    int n_ctx = 0;
    std::vector<Instruction> instructions;
    std::vector<unsigned char> buffer{0};
    NLMOutput output{0.0f, 1, nullptr};

    NLM() { output.Buffer = buffer.data(); }

    ~NLM() {
        if (context) llama_free(context);
        if (model) llama_model_free(model);
        if (verbose) --g_verbose_models;
    }

    void set_answer(const std::string& answer, float token_speed) {
        buffer.assign(answer.begin(), answer.end());
        buffer.push_back(0);
        output.Buffer = buffer.data();
        output.Size = static_cast<int>(buffer.size());
        output.TokenSpeed = token_speed;
    }
};

namespace {

// The GGUF file of the export: $MTP_FLORA_MODEL (a name in the directory or a path), else model-f16.gguf, else
// the file prompts.json names (the last one exported).
std::string model_path(const std::string& dir, const nlohmann::ordered_json& prompts) {
    if (const char* chosen = std::getenv("MTP_FLORA_MODEL")) {
        std::string name(chosen), inside = dir + "/" + chosen;
        if (!name.empty()) return file_exists(inside) ? inside : name;
    }
    if (file_exists(dir + "/model-f16.gguf")) return dir + "/model-f16.gguf";
    return dir + "/" + prompts.value("model", std::string("model-f16.gguf"));
}

// Each instruction as the runtime spec describes it (runtime.json, compiled by training: the input lines and the
// line a prompt may leave out), with the grammar file prompts.json lists for it.
bool load_instructions(NLM& nlm, const nlohmann::ordered_json& runtime, const nlohmann::ordered_json& prompts) {
    const auto& files = prompts.at("instructions");
    for (const auto& spec : runtime.at("instructions")) {
        Instruction instruction;
        instruction.name = spec.at("name").get<std::string>();
        std::vector<std::string> lines = spec.at("input_lines").get<std::vector<std::string>>();
        for (const auto& line : lines) add_line(instruction.pieces, line);
        add_literal(instruction.pieces, "\n");
        // The response-set line a prompt may leave out, as the spec says (the rule's one home is Python's
        // InstructionSpec.omissible_line): the line before the last.
        const auto omissible = spec.find("omissible_line");
        if (omissible != spec.end() && omissible->is_string()) {
            size_t n = lines.size();
            if (n < 2 || lines[n - 2] != omissible->get<std::string>() || lines[n - 1] != "<RUN>") {
                LOG_ERROR("InitNLM: %s/runtime.json: the omissible line of instruction '%s' is not its line before <RUN>",
                          nlm.dir.c_str(), instruction.name.c_str());
                return false;
            }
            instruction.response_line = lines[n - 2];
            for (size_t i = 0; i < n; ++i)
                if (i != n - 2) add_line(instruction.short_pieces, lines[i]);
            add_literal(instruction.short_pieces, "\n");
        }
        const auto file = files.find(instruction.name);
        if (file == files.end() || !file->contains("grammar")) {
            LOG_ERROR("InitNLM: %s/prompts.json lists no grammar for instruction '%s': export the model again",
                      nlm.dir.c_str(), instruction.name.c_str());
            return false;
        }
        std::string grammar_file = nlm.dir + "/" + file->at("grammar").get<std::string>();
        if (!read_file(grammar_file, instruction.grammar)) {
            LOG_ERROR("InitNLM: cannot read the grammar %s of instruction '%s'", grammar_file.c_str(), instruction.name.c_str());
            return false;
        }
        llama_sampler* check = llama_sampler_init_grammar(nlm.vocab, instruction.grammar.c_str(), "root");
        if (!check) {
            LOG_ERROR("InitNLM: the grammar %s does not parse in llama.cpp", grammar_file.c_str());
            return false;
        }
        llama_sampler_free(check);
        nlm.instructions.push_back(std::move(instruction));
    }
    if (nlm.instructions.empty()) {
        LOG_ERROR("InitNLM: %s/runtime.json lists no instructions", nlm.dir.c_str());
        return false;
    }
    return true;
}

// A JSON object read from FILE in the export directory; discarded (logged) when missing or not an object with KEY.
nlohmann::ordered_json read_bundle_file(const std::string& dir, const char* file, const char* key, const char* why) {
    std::string text;
    if (!read_file(dir + "/" + file, text)) {
        LOG_ERROR("InitNLM: cannot read %s/%s: %s", dir.c_str(), file, why);
        return nlohmann::ordered_json::value_t::discarded;
    }
    nlohmann::ordered_json doc = nlohmann::ordered_json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains(key)) {
        LOG_ERROR("InitNLM: %s/%s is not the %s of a GGUF export", dir.c_str(), file, file);
        return nlohmann::ordered_json::value_t::discarded;
    }
    return doc;
}

NLM* init(const char* model_dir, bool verbose) {
    if (!model_dir || !*model_dir) {
        LOG_ERROR("InitNLM: no model directory given");
        return nullptr;
    }
    std::string dir(model_dir);
    while (dir.size() > 1 && (dir.back() == '/' || dir.back() == '\\')) dir.pop_back();
    nlohmann::ordered_json prompts = read_bundle_file(
        dir, "prompts.json", "instructions", "give the directory `mtp export-model DIR --format gguf` wrote");
    if (prompts.is_discarded()) return nullptr;
    nlohmann::ordered_json runtime = read_bundle_file(
        dir, "runtime.json", "instructions", "an export of an earlier version: run `mtp export-model DIR --format gguf` again");
    if (runtime.is_discarded()) return nullptr;
    std::call_once(g_backend_once, [] {
        llama_log_set(llama_log, nullptr);
        llama_backend_init();
    });
    auto nlm = std::make_unique<NLM>();
    nlm->dir = dir;
    nlm->verbose = verbose;
    if (verbose) ++g_verbose_models;
    nlm->add_bos = prompts.value("add_bos", false);
    std::string path = model_path(dir, prompts);
    if (!file_exists(path)) {
        LOG_ERROR("InitNLM: the model file %s is missing", path.c_str());
        return nullptr;
    }
    nlm->model = llama_model_load_from_file(path.c_str(), llama_model_default_params());
    if (!nlm->model) {
        LOG_ERROR("InitNLM: llama.cpp cannot load %s", path.c_str());
        return nullptr;
    }
    nlm->vocab = llama_model_get_vocab(nlm->model);
    int trained = llama_model_n_ctx_train(nlm->model);
    nlm->n_ctx = trained > 0 && trained < kMaxContext ? trained : kMaxContext;
    llama_context_params params = llama_context_default_params();
    params.n_ctx = static_cast<uint32_t>(nlm->n_ctx);
    params.n_batch = static_cast<uint32_t>(nlm->n_ctx);
    params.n_threads = params.n_threads_batch = thread_count();
    nlm->context = llama_init_from_model(nlm->model, params);
    if (!nlm->context) {
        LOG_ERROR("InitNLM: llama.cpp cannot create a context of %d tokens for %s", nlm->n_ctx, path.c_str());
        return nullptr;
    }
    if (!load_instructions(*nlm, runtime, prompts)) return nullptr;
    LOG_INFO("InitNLM: loaded %s (%zu instructions, context %d tokens)", path.c_str(), nlm->instructions.size(), nlm->n_ctx);
    NLM* handle = nlm.release();
    std::lock_guard<std::mutex> lock(g_handles_mutex);
    g_handles.insert(handle);
    return handle;
}

// The instruction a prompt belongs to, completing a prompt that lacks its response-set line; nullptr if none.
const Instruction* find_instruction(const NLM& nlm, std::string& prompt) {
    std::vector<const Instruction*> full, partial;
    for (const auto& instruction : nlm.instructions) {
        if (matches(instruction.pieces, 0, prompt, 0)) full.push_back(&instruction);
        else if (!instruction.short_pieces.empty() && matches(instruction.short_pieces, 0, prompt, 0)) partial.push_back(&instruction);
    }
    std::vector<const Instruction*>& found = full.empty() ? partial : full;
    if (found.size() == 1) {
        if (full.empty()) prompt.insert(prompt.size() - std::strlen("<RUN>\n"), found[0]->response_line);
        return found[0];
    }
    if (found.empty()) {
        std::string names;
        for (const auto& instruction : nlm.instructions) names += (names.empty() ? "" : ", ") + instruction.name;
        LOG_ERROR("Inference: the prompt matches the input lines of no instruction (%s): \"%s\"", names.c_str(),
                  shown(prompt).c_str());
    } else {
        std::string names;
        for (const auto* instruction : found) names += (names.empty() ? "" : ", ") + instruction->name;
        LOG_ERROR("Inference: the prompt matches %s instructions (%s)%s: \"%s\"", std::to_string(found.size()).c_str(),
                  names.c_str(), full.empty() ? " once their response-set lines are left out; send the full prompt" : "",
                  shown(prompt).c_str());
    }
    return nullptr;
}

void infer(NLM& nlm, const char* text) {
    nlm.set_answer("", 0.0f);  // a failed call must not leave the previous answer in place
    if (!text) {
        LOG_ERROR("Inference: the prompt is NULL");
        return;
    }
    std::string prompt(text);
    if (prompt.size() >= 5 && prompt.compare(prompt.size() - 5, 5, "<RUN>") == 0) prompt += "\n";
    const Instruction* instruction = find_instruction(nlm, prompt);
    if (!instruction) return;
    if (nlm.verbose) LOG_INFO("Inference: instruction '%s', prompt \"%s\"", instruction->name.c_str(), shown(prompt, 2000).c_str());

    auto start = std::chrono::steady_clock::now();
    std::vector<llama_token> tokens(prompt.size() + 8);
    int n = llama_tokenize(nlm.vocab, prompt.data(), static_cast<int32_t>(prompt.size()), tokens.data(),
                           static_cast<int32_t>(tokens.size()), nlm.add_bos, true);
    if (n < 0) {
        tokens.resize(static_cast<size_t>(-n));
        n = llama_tokenize(nlm.vocab, prompt.data(), static_cast<int32_t>(prompt.size()), tokens.data(),
                           static_cast<int32_t>(tokens.size()), nlm.add_bos, true);
    }
    if (n <= 0) {
        LOG_ERROR("Inference: llama.cpp cannot tokenize the prompt");
        return;
    }
    if (n >= nlm.n_ctx) {
        LOG_ERROR("Inference: the prompt is %d tokens long and the context holds %d: shorten its lines", n, nlm.n_ctx);
        return;
    }
    tokens.resize(static_cast<size_t>(n));
    llama_memory_clear(llama_get_memory(nlm.context), true);
    if (llama_decode(nlm.context, llama_batch_get_one(tokens.data(), n)) != 0) {
        LOG_ERROR("Inference: llama.cpp failed to process the prompt");
        return;
    }
    llama_sampler* chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(chain, llama_sampler_init_grammar(nlm.vocab, instruction->grammar.c_str(), "root"));
    llama_sampler_chain_add(chain, llama_sampler_init_greedy());
    std::string answer;
    int generated = 0, room = nlm.n_ctx - n;
    int limit = room < kMaxNewTokens ? room : kMaxNewTokens;
    bool ended = false, failed = false;
    while (generated < limit) {
        llama_token next = llama_sampler_sample(chain, nlm.context, -1);  // grammar applied, token accepted
        ++generated;
        char piece[256];
        int length = llama_token_to_piece(nlm.vocab, next, piece, sizeof piece, 0, true);
        if (length > 0) answer.append(piece, static_cast<size_t>(length));
        if (llama_vocab_is_eog(nlm.vocab, next)) {
            ended = true;
            break;
        }
        if (llama_decode(nlm.context, llama_batch_get_one(&next, 1)) != 0) {
            failed = true;
            break;
        }
    }
    llama_sampler_free(chain);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed) {
        LOG_ERROR("Inference: llama.cpp failed to decode after %d answer tokens", generated);
        return;
    }
    if (!ended) {
        LOG_ERROR("Inference: no complete answer within %d tokens (%s): \"%s\"", limit,
                  limit == room ? "the context is full" : "the answer limit", shown(answer).c_str());
        return;
    }
    nlm.set_answer(answer, seconds > 0 ? static_cast<float>(generated / seconds) : 0.0f);
    if (nlm.verbose) LOG_INFO("Inference: answer \"%s\" (%d tokens, %.1f tokens/s)", shown(answer, 2000).c_str(), generated,
                              nlm.output.TokenSpeed);
}

}  // namespace

extern "C" {

FLORA_API NLM* FLORA_CALL InitNLM(const char* modelDir, bool verbose) {
    try {
        return init(modelDir, verbose);
    } catch (const std::exception& error) {
        LOG_ERROR("InitNLM: %s", error.what());
    } catch (...) {
        LOG_ERROR("InitNLM: unexpected failure");
    }
    return nullptr;
}

FLORA_API void FLORA_CALL Inference(NLM* nlm, const char* prompt) {
    if (!nlm || !live(nlm)) {
        LOG_ERROR("Inference: %s model handle", nlm ? "unknown or deleted" : "NULL");
        return;
    }
    std::lock_guard<std::mutex> lock(nlm->mutex);
    try {
        infer(*nlm, prompt);
    } catch (const std::exception& error) {
        nlm->set_answer("", 0.0f);
        LOG_ERROR("Inference: %s", error.what());
    } catch (...) {
        nlm->set_answer("", 0.0f);
        LOG_ERROR("Inference: unexpected failure");
    }
}

FLORA_API NLMOutput* FLORA_CALL OutputNLM(NLM* nlm) {
    if (!nlm || !live(nlm)) {
        LOG_ERROR("OutputNLM: %s model handle", nlm ? "unknown or deleted" : "NULL");
        return nullptr;
    }
    std::lock_guard<std::mutex> lock(nlm->mutex);
    return &nlm->output;
}

FLORA_API void FLORA_CALL Delete(NLM* nlm) {
    if (!nlm) {
        LOG_ERROR("Delete: NULL model handle");
        return;
    }
    {
        std::lock_guard<std::mutex> lock(g_handles_mutex);
        if (!g_handles.erase(nlm)) {
            LOG_ERROR("Delete: unknown or already deleted model handle");
            return;
        }
    }
    { std::lock_guard<std::mutex> wait(nlm->mutex); }  // let a running Inference finish
    delete nlm;
}

FLORA_API int FLORA_CALL LogAddFilePointer(void) {
    const char* chosen = std::getenv("MTP_FLORA_LOG");
    std::string path = chosen && *chosen ? chosen : "flora.log";
    {
        std::lock_guard<std::mutex> lock(g_log_mutex);
        if (!g_log_file) g_log_file = std::fopen(path.c_str(), "a");
        if (g_log_file) return 0;
    }
    LOG_ERROR("LogAddFilePointer: cannot open %s for appending", path.c_str());
    return -1;
}

}  // extern "C"
