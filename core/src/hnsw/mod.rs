//! The HNSW index over float32 vectors (Malkov and Yashunin), bounded-stack
//! and heapless: all large state lives in caller-provided scratch memory.
