package cli

import (
	"errors"
	"reflect"
	"testing"

	"github.com/gputune/gputune/internal/config"
)

func TestTuningUnits(t *testing.T) {
	tests := []struct {
		name     string
		selected []int
		groups   [][]int
		want     [][]int
		wantErr  bool
	}{
		{"no groups: one loop per GPU", []int{0, 1, 2}, nil, [][]int{{0}, {1}, {2}}, false},
		{"two TP pairs", []int{0, 1, 2, 3}, [][]int{{0, 1}, {2, 3}}, [][]int{{0, 1}, {2, 3}}, false},
		{"a group and a lone GPU, in selection order", []int{0, 1, 2}, [][]int{{2, 1}}, [][]int{{0}, {2, 1}}, false},
		{"GPU in two groups", []int{0, 1, 2}, [][]int{{0, 1}, {1, 2}}, nil, true},
		{"group names an unselected GPU", []int{0, 1}, [][]int{{1, 2}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tuningUnits(tt.selected, tt.groups)
			if tt.wantErr {
				if !errors.Is(err, config.ErrInvalid) {
					t.Errorf("err %v, want config.ErrInvalid", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tuningUnits = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
