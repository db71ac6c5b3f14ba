// TensorFlow status codes as JavaScript errors.
//
// Worker threads record a failure as a plain TfError (no JS); the JS thread turns it into an Error
// whose `code` is TensorFlow's canonical name ("INVALID_ARGUMENT") and `tfCode` its number, with
// TensorFlow's own message. Validation failures of the binding itself use the same shape.
#pragma once

#include <napi.h>

#include <string>

#include "tensorflow/c/tf_status.h"

namespace tfserve {

struct TfError {
  TF_Code code = TF_OK;
  std::string message;

  bool ok() const { return code == TF_OK; }
};

const char* CodeName(TF_Code code);

// Reads a TF_Status after a call; TF_OK yields an ok TfError.
TfError FromStatus(const TF_Status* status);

Napi::Error MakeError(Napi::Env env, const TfError& error);
Napi::Error MakeError(Napi::Env env, TF_Code code, const std::string& message);

// `text` with each NUL byte written as \0, to quote a rejected name in a message.
std::string EscapeNul(const std::string& text);

}  // namespace tfserve
