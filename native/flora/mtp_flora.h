/* mtp_flora.h: the reference MTP runtime's C interface (flora.dll / libflora.so), served by llama.cpp.
 *
 * A game that loads the reference runtime through these five functions can load this library instead; it
 * reads the directory `mtp export-model DIR --format gguf` writes (model-*.gguf, grammars/, prompts.json, runtime.json).
 * See docs/deploy.md ("Swap in for the reference runtime").
 *
 * Ownership: the library owns every NLM and NLMOutput, and the Buffer. OutputNLM's struct and Buffer stay
 * valid until the next Inference or Delete on the same handle; the caller never frees them. Buffer is writable
 * and NUL-terminated, and Size counts that NUL (the Unreal plugin writes '\0' at Buffer[Size - 1]).
 * Calls on one handle are serialised; do not call Delete while another thread still uses the handle.
 */
#ifndef MTP_FLORA_H
#define MTP_FLORA_H

#include <stdbool.h>

#if defined(_WIN32)
#define FLORA_CALL __stdcall
#if defined(FLORA_BUILD)
#define FLORA_API __declspec(dllexport)
#else
#define FLORA_API __declspec(dllimport)
#endif
#else
#define FLORA_CALL
#define FLORA_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* One loaded model; opaque. */
typedef struct NLM NLM;

/* The answer of the last Inference. */
typedef struct NLMOutput {
    float TokenSpeed;      /* generated tokens per second of the last Inference (prompt processing included) */
    int Size;              /* bytes in Buffer including its terminating NUL: strlen(Buffer) + 1 */
    unsigned char* Buffer; /* UTF-8 "TEXT\nFINAL\n<EOS>" (the template's output line), "" when there is none */
} NLMOutput;

/* Load an export directory. verbose: also log each prompt, each answer and llama.cpp's own messages.
 * Returns NULL, after logging why, when the directory cannot be used. */
FLORA_API NLM* FLORA_CALL InitNLM(const char* modelDir, bool verbose);

/* Answer one prompt (the template's input lines filled in, ending in <RUN>); the answer goes to OutputNLM. */
FLORA_API void FLORA_CALL Inference(NLM* nlm, const char* prompt);

/* The last answer; NULL only for a NULL or unknown handle. */
FLORA_API NLMOutput* FLORA_CALL OutputNLM(NLM* nlm);

/* Free the model and everything it returned. NULL and already deleted handles are logged and ignored. */
FLORA_API void FLORA_CALL Delete(NLM* nlm);

/* Also write the log to a file: $MTP_FLORA_LOG, else flora.log in the current directory (appended).
 * Returns 0 when the file is attached (or already was), -1 when it cannot be opened. */
FLORA_API int FLORA_CALL LogAddFilePointer(void);

#ifdef __cplusplus
}
#endif

#endif /* MTP_FLORA_H */
