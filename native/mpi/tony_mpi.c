/*
 * Tony's MPI binding: the few collectives data-parallel training needs, over the system's Open MPI,
 * as a Node-API addon (plain C against node_api.h, so it needs nothing from npm and no node-gyp).
 * src/distributed/mpi.ts compiles it with `mpicc` on first use and wraps it; see there for why.
 *
 * Every collective takes and fills typed arrays (Float32Array, Float64Array, Int32Array,
 * BigInt64Array, Uint8Array); buffers are used in place, no copies. Calls block the calling thread
 * until the collective completes, as MPI's do: Tony calls them from the main thread only (the ONNX
 * Runtime sessions run on a worker thread), so MPI is initialised with MPI_THREAD_FUNNELED.
 */
#define NAPI_VERSION 8
#include <mpi.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_NAPI(env, call)                                   \
  do {                                                          \
    if ((call) != napi_ok) {                                    \
      napi_throw_error((env), NULL, "tony_mpi: " #call " failed"); \
      return NULL;                                              \
    }                                                           \
  } while (0)

static int initialized = 0;

/* MPI errors come back as exceptions with MPI's own message, instead of aborting the process. */
static napi_value throw_mpi(napi_env env, const char* what, int rc) {
  char msg[MPI_MAX_ERROR_STRING + 64];
  char err[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, err, &len);
  snprintf(msg, sizeof msg, "%s: %.*s", what, len, err);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value need_init(napi_env env) {
  napi_throw_error(env, NULL, "tony_mpi: MPI is not initialised (call init first)");
  return NULL;
}

/* A typed array argument: its data pointer, element count and MPI datatype. */
typedef struct {
  void* data;
  size_t length;
  MPI_Datatype type;
  size_t elem;
} buf_t;

static int get_buf(napi_env env, napi_value v, buf_t* out) {
  bool is_ta = false;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    napi_throw_type_error(env, NULL, "tony_mpi: expected a typed array");
    return 0;
  }
  if (napi_get_typedarray_info(env, v, &t, &out->length, &out->data, &ab, &off) != napi_ok) {
    napi_throw_error(env, NULL, "tony_mpi: cannot read the typed array");
    return 0;
  }
  switch (t) {
    case napi_float32_array: out->type = MPI_FLOAT; out->elem = 4; break;
    case napi_float64_array: out->type = MPI_DOUBLE; out->elem = 8; break;
    case napi_int32_array: out->type = MPI_INT32_T; out->elem = 4; break;
    case napi_bigint64_array: out->type = MPI_INT64_T; out->elem = 8; break;
    case napi_uint8_array: out->type = MPI_BYTE; out->elem = 1; break;
    default:
      napi_throw_type_error(env, NULL, "tony_mpi: supported arrays are Float32, Float64, Int32, BigInt64 and Uint8");
      return 0;
  }
  return 1;
}

/* An array of G non-negative counts (JS numbers) into ints, plus their displacements. */
static int get_counts(napi_env env, napi_value v, int n, int* counts, int* displs) {
  bool is_array = false;
  uint32_t len = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &len) != napi_ok ||
      len != (uint32_t)n) {
    napi_throw_type_error(env, NULL, "tony_mpi: counts must be an array with one entry per rank");
    return 0;
  }
  int total = 0;
  for (int i = 0; i < n; i++) {
    napi_value e;
    int32_t c;
    if (napi_get_element(env, v, i, &e) != napi_ok || napi_get_value_int32(env, e, &c) != napi_ok || c < 0) {
      napi_throw_type_error(env, NULL, "tony_mpi: counts must be non-negative integers");
      return 0;
    }
    counts[i] = c;
    displs[i] = total;
    total += c;
  }
  return 1;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "tony_mpi: too few arguments");
    return 0;
  }
  return 1;
}

static napi_value rank_size(napi_env env) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  napi_value obj, r, s;
  CHECK_NAPI(env, napi_create_object(env, &obj));
  CHECK_NAPI(env, napi_create_int32(env, rank, &r));
  CHECK_NAPI(env, napi_create_int32(env, size, &s));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "rank", r));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "size", s));
  return obj;
}

/* init() → { rank, size }. Errors are returned to the caller rather than aborting the job. */
static napi_value Init_(napi_env env, napi_callback_info info) {
  (void)info;
  if (!initialized) {
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Init_thread", rc);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    initialized = 1;
  }
  return rank_size(env);
}

/* allreduceSum(x): x ← Σ over ranks of x, element-wise, in place. */
static napi_value AllreduceSum(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  buf_t b;
  if (!initialized) return need_init(env);
  if (!get_args(env, info, 1, argv) || !get_buf(env, argv[0], &b)) return NULL;
  if (b.type == MPI_BYTE) {
    napi_throw_type_error(env, NULL, "tony_mpi: allreduceSum takes Float32, Float64, Int32 or BigInt64 arrays");
    return NULL;
  }
  int rc = MPI_Allreduce(MPI_IN_PLACE, b.data, (int)b.length, b.type, MPI_SUM, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Allreduce", rc);
  return NULL;
}

/* allgather(send, recv): recv (size·n) ← every rank's send (n), in rank order. */
static napi_value Allgather(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  buf_t s, r;
  int size;
  if (!initialized) return need_init(env);
  if (!get_args(env, info, 2, argv) || !get_buf(env, argv[0], &s) || !get_buf(env, argv[1], &r)) return NULL;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (s.type != r.type || r.length != s.length * (size_t)size) {
    napi_throw_range_error(env, NULL, "tony_mpi: allgather needs recv of the same type and size × send's length");
    return NULL;
  }
  int rc = MPI_Allgather(s.data, (int)s.length, s.type, r.data, (int)s.length, r.type, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Allgather", rc);
  return NULL;
}

/* allgatherv(send, recv, counts): recv ← rank i's send (counts[i] elements) at offset Σ counts[<i]. */
static napi_value Allgatherv(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  buf_t s, r;
  int size, rank;
  if (!initialized) return need_init(env);
  if (!get_args(env, info, 3, argv) || !get_buf(env, argv[0], &s) || !get_buf(env, argv[1], &r)) return NULL;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int* counts = malloc(sizeof(int) * size * 2);
  int* displs = counts + size;
  napi_value result = NULL;
  if (!get_counts(env, argv[2], size, counts, displs)) goto done;
  if (s.type != r.type || (size_t)counts[rank] != s.length || (size_t)(displs[size - 1] + counts[size - 1]) != r.length) {
    napi_throw_range_error(env, NULL, "tony_mpi: allgatherv needs send.length = counts[rank] and recv.length = Σ counts");
    goto done;
  }
  int rc = MPI_Allgatherv(s.data, (int)s.length, s.type, r.data, counts, displs, r.type, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) throw_mpi(env, "MPI_Allgatherv", rc);
done:
  free(counts);
  return result;
}

/* alltoallv(send, sendCounts, recv, recvCounts): rank i's block j goes to rank j's block i. */
static napi_value Alltoallv(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  buf_t s, r;
  int size;
  if (!initialized) return need_init(env);
  if (!get_args(env, info, 4, argv) || !get_buf(env, argv[0], &s) || !get_buf(env, argv[2], &r)) return NULL;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int* c = malloc(sizeof(int) * size * 4);
  napi_value result = NULL;
  if (!get_counts(env, argv[1], size, c, c + size) || !get_counts(env, argv[3], size, c + 2 * size, c + 3 * size)) goto done;
  if (s.type != r.type || (size_t)(c[size + size - 1] + c[size - 1]) != s.length ||
      (size_t)(c[3 * size + size - 1] + c[3 * size - 1]) != r.length) {
    napi_throw_range_error(env, NULL, "tony_mpi: alltoallv needs send.length = Σ sendCounts and recv.length = Σ recvCounts");
    goto done;
  }
  int rc = MPI_Alltoallv(s.data, c, c + size, s.type, r.data, c + 2 * size, c + 3 * size, r.type, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) throw_mpi(env, "MPI_Alltoallv", rc);
done:
  free(c);
  return result;
}

/* bcast(x, root): x ← root's x, in place. */
static napi_value Bcast(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  buf_t b;
  int32_t root;
  if (!initialized) return need_init(env);
  if (!get_args(env, info, 2, argv) || !get_buf(env, argv[0], &b)) return NULL;
  CHECK_NAPI(env, napi_get_value_int32(env, argv[1], &root));
  int rc = MPI_Bcast(b.data, (int)b.length, b.type, root, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Bcast", rc);
  return NULL;
}

static napi_value Barrier(napi_env env, napi_callback_info info) {
  (void)info;
  if (!initialized) return need_init(env);
  int rc = MPI_Barrier(MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return throw_mpi(env, "MPI_Barrier", rc);
  return NULL;
}

static napi_value Finalize(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  if (initialized == 1) {
    MPI_Finalize();
    initialized = 2; /* MPI cannot be initialised twice in one process */
  }
  return NULL;
}

static napi_value Module(napi_env env, napi_value exports) {
  const struct {
    const char* name;
    napi_callback fn;
  } fns[] = {{"init", Init_},           {"allreduceSum", AllreduceSum}, {"allgather", Allgather},
             {"allgatherv", Allgatherv}, {"alltoallv", Alltoallv},       {"bcast", Bcast},
             {"barrier", Barrier},       {"finalize", Finalize}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    CHECK_NAPI(env, napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
    CHECK_NAPI(env, napi_set_named_property(env, exports, fns[i].name, f));
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Module)
