// Run an exported GGUF through libllama the way an engine plugin does: load once, then per prompt
// tokenize (special tokens parsed, BOS as the GGUF says), greedy sampling under the instruction's GBNF
// grammar, stop at the end-of-generation token. Used by bench/gguf_parity.py; build:
//
//   g++ -O2 -std=c++17 bench/gguf_run.cpp -I $LLAMA_SRC/include -I $LLAMA_SRC/ggml/include \
//       -L $MTP_LLAMA_CPP/bin -lllama -lggml -lggml-base -Wl,-rpath,$MTP_LLAMA_CPP/bin -o $MTP_LLAMA_CPP/bin/mtp-gguf-run
//
// Usage: mtp-gguf-run MODEL.gguf THREADS MAX_TOKENS < jobs
// A job on stdin is "GRAMMAR_BYTES PROMPT_BYTES\n" then the grammar text and the prompt text. For each job
// stdout gets "RESULT PROMPT_TOKENS PROMPT_MS GEN_TOKENS GEN_MS ENDED OUT_BYTES\n" then the generated text
// (special tokens written out; ENDED is 1 when the end-of-generation token ended it) and "\n".
// With MAX_TOKENS 0 nothing is generated and the text is the prompt's token ids, space-separated.
#include "llama.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

static double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

int main(int argc, char ** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.gguf THREADS MAX_TOKENS < jobs\n", argv[0]);
        return 2;
    }
    const int threads = std::atoi(argv[2]);
    const int max_tokens = std::atoi(argv[3]);
    llama_log_set([](ggml_log_level level, const char * text, void *) {
        if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
    }, nullptr);
    llama_backend_init();
    llama_model_params mparams = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(argv[1], mparams);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = 2048;
    cparams.n_batch = 2048;
    cparams.n_threads = threads;
    cparams.n_threads_batch = threads;
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) { fprintf(stderr, "cannot create a context\n"); return 1; }

    size_t grammar_len, prompt_len;
    while (std::cin >> grammar_len >> prompt_len) {
        std::cin.get();  // the newline after the header
        std::string grammar(grammar_len, '\0'), prompt(prompt_len, '\0');
        std::cin.read(&grammar[0], grammar_len);
        std::cin.read(&prompt[0], prompt_len);
        llama_memory_clear(llama_get_memory(ctx), true);
        llama_sampler * chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
        llama_sampler * constrained = llama_sampler_init_grammar(vocab, grammar.c_str(), "root");
        if (!constrained) { fprintf(stderr, "the grammar does not parse\n"); return 1; }
        llama_sampler_chain_add(chain, constrained);
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());

        auto start = std::chrono::steady_clock::now();
        std::vector<llama_token> tokens(prompt.size() + 8);
        int n = llama_tokenize(vocab, prompt.data(), (int) prompt.size(), tokens.data(), (int) tokens.size(), true, true);
        if (n < 0) { fprintf(stderr, "cannot tokenize the prompt\n"); return 1; }
        tokens.resize(n);
        if (llama_decode(ctx, llama_batch_get_one(tokens.data(), n))) { fprintf(stderr, "decode failed\n"); return 1; }
        const double prompt_ms = ms_since(start);
        start = std::chrono::steady_clock::now();
        std::string out;
        int generated = 0, ended = 0;
        for (int i = 0; max_tokens == 0 && i < n; ++i) out += (i ? " " : "") + std::to_string(tokens[i]);
        while (generated < max_tokens) {
            llama_token next = llama_sampler_sample(chain, ctx, -1);  // applies the grammar, accepts the token
            ++generated;
            char piece[256];
            int len = llama_token_to_piece(vocab, next, piece, sizeof piece, 0, true);
            if (len > 0) out.append(piece, len);
            if (llama_vocab_is_eog(vocab, next)) { ended = 1; break; }
            if (llama_decode(ctx, llama_batch_get_one(&next, 1))) { fprintf(stderr, "decode failed\n"); return 1; }
        }
        const double gen_ms = ms_since(start);
        llama_sampler_free(chain);
        printf("RESULT %d %.3f %d %.3f %d %zu\n", n, prompt_ms, generated, gen_ms, ended, out.size());
        fwrite(out.data(), 1, out.size(), stdout);
        printf("\n");
        fflush(stdout);
    }
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
