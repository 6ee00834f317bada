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
static inline unsigned rlhf_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned rlhf_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline size_t rlhf_H5T_VARIABLE(void) { return H5T_VARIABLE; }
