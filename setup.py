"""The one compiled part: the graph walk over 8-bit codes (store/embedded/_walk.c).
Optional: where it cannot be built, answerdb searches through faiss instead (same results,
slower)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "answerdb.store.embedded._walk",
            sources=["src/answerdb/store/embedded/_walk.c"],
            extra_compile_args=["-O3"],
            libraries=["m"],  # nearbyintf: rounding the query as numpy's rint does
            optional=True,
        )
    ]
)
