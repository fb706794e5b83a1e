/* student.h: what a student's file gives the coursework checker (check_student.c): one
 * row of gradflow's activation table (include/gradflow/act.h), filled in by the
 * student. The row carries f, f', the bound on |f'| and the initialisation that suits
 * f, so the checker can test each claim. */
#ifndef GRADFLOW_COURSEWORK_STUDENT_H
#define GRADFLOW_COURSEWORK_STUDENT_H

#include <gradflow.h>

/* The student's activation (static storage; never NULL). */
const gf_activation *student_activation(void);

#endif
