#include <mpi.h>

// Open MPI's handles (communicators, datatypes, operations) are macros over addresses of its
// globals, which Swift cannot import; these return them.
static inline MPI_Comm rlhf_MPI_COMM_WORLD(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype rlhf_MPI_BYTE(void) { return MPI_BYTE; }
static inline MPI_Datatype rlhf_MPI_FLOAT(void) { return MPI_FLOAT; }
static inline MPI_Datatype rlhf_MPI_INT(void) { return MPI_INT; }
static inline MPI_Status *rlhf_MPI_STATUS_IGNORE(void) { return MPI_STATUS_IGNORE; }
static inline int rlhf_MPI_THREAD_SERIALIZED(void) { return MPI_THREAD_SERIALIZED; }
static inline int rlhf_MPI_SUCCESS(void) { return MPI_SUCCESS; }
static inline MPI_Errhandler rlhf_MPI_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }
