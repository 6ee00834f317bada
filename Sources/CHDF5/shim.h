#include <hdf5.h>

// HDF5 exposes its default property list and native types as macros that Swift cannot import.
static inline hid_t rlhf_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t rlhf_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t rlhf_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t rlhf_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t rlhf_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t rlhf_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t rlhf_H5T_C_S1(void) { return H5T_C_S1; }
static inline hid_t rlhf_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t rlhf_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hsize_t rlhf_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline unsigned rlhf_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned rlhf_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline unsigned rlhf_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned rlhf_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline size_t rlhf_H5T_VARIABLE(void) { return H5T_VARIABLE; }

// Used by the run file (Sources/Recording).
static inline hid_t rlhf_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t rlhf_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t rlhf_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t rlhf_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t rlhf_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
// File types are fixed little-endian so a run file's bytes do not depend on the machine.
static inline hid_t rlhf_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t rlhf_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t rlhf_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t rlhf_H5T_STD_U64LE(void) { return H5T_STD_U64LE; }
static inline hid_t rlhf_H5T_STD_I8LE(void) { return H5T_STD_I8LE; }
