/* student.h: what a student's file gives the coursework checker (check_student.c): one
 * row of gradflow's activation table (include/gradflow/act.h), filled in by the
 * student. The row carries f, f', the bound on |f'| and the initialisation that suits
 * f, so the checker can test each claim. */
#ifndef GRADFLOW_COURSEWORK_STUDENT_H
#define GRADFLOW_COURSEWORK_STUDENT_H

#include <math.h>

#include <gradflow.h>

/* M_PI is POSIX, not C11: check.sh and CMake compile with -D_DEFAULT_SOURCE so that
 * <math.h> has it; this covers a compiler that still lacks it. */
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* The student's activation (static storage; never NULL). */
const gf_activation *student_activation(void);

#endif
