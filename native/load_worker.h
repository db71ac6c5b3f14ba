// LoadWorker: TF_LoadSessionFromSavedModel on a libuv worker thread.
//
// All arguments are copied into plain C++ values before Queue(). On success the JS thread wraps
// the session in a SavedModelWrap and resolves { model, metaGraphDef } where metaGraphDef is the
// serialized MetaGraphDef that TypeScript parses for signatures.
#pragma once

#include <napi.h>

namespace tfserve {

// loadSavedModel(exportDir: string, tags: string[], configProto: Uint8Array) -> Promise
Napi::Value LoadSavedModel(const Napi::CallbackInfo& info);

}  // namespace tfserve
