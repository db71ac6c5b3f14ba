{
  # The build `npm install` runs (scripts/install.mjs). CMakeLists.txt builds the same sources with
  # cmake-js for development (sanitizers, compile_commands.json); test/build-files.test.ts keeps them equal.
  "targets": [
    {
      "target_name": "tfserve",
      "sources": [
        "native/addon.cc",
        "native/json_numbers.cc",
        "native/load_worker.cc",
        "native/memory.cc",
        "native/platform.cc",
        "native/run_pool.cc",
        "native/run_worker.cc",
        "native/saved_model.cc",
        "native/status.cc",
        "native/tensor.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node scripts/libtensorflow.cjs include)"
      ],
      "libraries": [
        "<!@(node scripts/libtensorflow.cjs libs)",
        "-ldl",
        "-Wl,-rpath,<!(node scripts/libtensorflow.cjs libdir)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      }
    }
  ]
}
