{
  "targets": [
    {
      "target_name": "mdistill",
      "sources": ["<!@(node scripts/sources.cjs)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native",
        "<!@(node scripts/torch-paths.cjs include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS",
        "MDISTILL_BUILD_SYSTEM=\"node-gyp\"",
        "_GLIBCXX_USE_CXX11_ABI=<!(node scripts/torch-paths.cjs abi)",
        "<!@(node scripts/onednn-flags.cjs define)"
      ],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wno-unused-parameter", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "libraries": [
        "-L<!(node scripts/torch-paths.cjs libdir)",
        "-Wl,-rpath,<!(node scripts/torch-paths.cjs libdir)",
        "-ltorch", "-ltorch_cpu", "-lc10",
        "<!@(node scripts/onednn-flags.cjs libraries)"
      ]
    }
  ]
}
