{
  "targets": [
    {
      "target_name": "finetune_native",
      "sources": [
        "native/addon.c",
        "native/attention.c",
        "native/blas.c",
        "native/fused.c",
        "native/gemm.c",
        "native/gemm_bf16.c",
        "native/gemm_fallback.c",
        "native/gemv.c",
        "native/kernels.c",
        "native/peak.c",
        "native/threads.c"
      ],
      "cflags": ["-std=gnu11", "-O3", "-fPIC", "-pthread", "-fno-math-errno", "-fno-trapping-math"],
      "ldflags": ["-pthread"],
      "libraries": ["-ldl", "-lm"],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": ["-std=gnu11", "-pthread", "-fno-math-errno", "-fno-trapping-math"]
      }
    }
  ]
}
